/**
 * The web console (`/ui/`): server-rendered pages over the control plane,
 * signed in with a session cookie (see `sessions.ts`) and guarded by a strict
 * Content-Security-Policy, the API's `Host` check, an `Origin` check and CSRF
 * tokens (see `routes.tsx`).
 *
 * @module
 */
export {
  CONSOLE_ACTOR,
  CONSOLE_CSP,
  consoleLinkRoutes,
  consoleRoutes,
  fromSameOrigin,
  SESSION_COOKIE,
} from "./routes.tsx";
export { ConsoleSessions, LINK_TTL_MS, SESSION_TTL_MS } from "./sessions.ts";
export { changeDiff, diffLines, valueLines } from "./diff.ts";
