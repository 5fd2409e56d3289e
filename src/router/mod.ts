/**
 * The router: channel messages → per-wiring outcomes (engage, accumulate,
 * drop, deny, or an access request for an unknown sender), written into
 * session queues with the session woken when engaged.
 *
 * ```ts
 * import { ControlPlane } from "../control_plane/mod.ts";
 *
 * const stateDir = await Deno.makeTempDir();
 * const plane = await ControlPlane.open({ stateDir, dev: true, background: false });
 * const { registry, gateway, metrics, backlog } = plane;
 * // A waker that only notes the session: the plane's own one launches its sandbox.
 * const woken: string[] = [];
 * const waker = { wake: (sessionId: string) => Promise.resolve(void woken.push(sessionId)) };
 * const onQueueDamaged = (err: Error) => console.error(err.message);
 * const router = new Router({ registry, waker, gateway, metrics, backlog, onQueueDamaged });
 * const { outcomes } = await router.route({ channelType: "web", platformId: "demo", senderHandle: "alice", text: "hi" });
 * console.log(outcomes, woken);
 * await plane.close();
 * await Deno.remove(stateDir, { recursive: true });
 * ```
 *
 * @module
 */
export { Router } from "./router.ts";
export type {
  AccessRequests,
  InboundEvent,
  OutcomeKind,
  RouterDeps,
  RouteResult,
  RoutingOutcome,
} from "./router.ts";
// The error `route()` throws when back-pressure left a message queued nowhere.
export { SessionBacklogFullError } from "../session/mod.ts";
export { ENGAGE_TEXT_CAP, EngageModeError, evaluateEngage } from "./engage.ts";
export type { EngageInput } from "./engage.ts";
export { type RoutedSession } from "./router.ts";
