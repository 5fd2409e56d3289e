/**
 * Until the control plane is ready (and once it is shutting down) every
 * route but the health probes answers 503.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { type ApiEnv, HEALTH_PATHS } from "../env.ts";
import { fail } from "../errors.ts";

/** What the middleware asks. */
export type Readiness = () => { ready: true } | { ready: false; reason: string };

/** 503 `{"error": "not ready: <reason>"}` while `readiness()` says not ready. */
export function requireReady(readiness: Readiness): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    if (HEALTH_PATHS.has(c.req.path)) return await next();
    const state = readiness();
    if (!state.ready) return fail(c, 503, `not ready: ${state.reason}`);
    await next();
  };
}
