/**
 * The router: channel messages → per-wiring outcomes (engage, accumulate,
 * drop, deny, or an access request for an unknown sender), written into
 * session queues with the session woken when engaged.
 *
 * ```ts
 * const router = new Router({ registry, queues, waker, gateway });
 * const { outcomes } = await router.route({ channelType: "slack", platformId: "C1", senderHandle: "alice", text: "hi" });
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
export { SessionBacklogFullError } from "../session/backlog.ts";
export { ENGAGE_TEXT_CAP, EngageModeError, evaluateEngage } from "./engage.ts";
export type { EngageInput } from "./engage.ts";
