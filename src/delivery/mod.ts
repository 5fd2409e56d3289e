/**
 * Delivery: every session's outbound rows carried out exactly once (durable
 * marks in the inbound `delivered` table): system actions to the task store,
 * the question store or the gateway; agent-to-agent messages to the target
 * group's sessions; chat to channel adapters.
 *
 * ```ts
 * const delivery = new Delivery({ registry, queues, waker, adapters: new ChannelAdapters([webChat]), gateway });
 * delivery.start();
 * doorbell = new Doorbell(path, { onOutbound: () => delivery.notify(sessionId) });
 * ```
 *
 * @module
 */
export { Delivery, formatTaskList } from "./delivery.ts";
export type { DeliveryDeps, InboundStatusMirror, RowOutcome, SessionPass, TaskSync } from "./delivery.ts";
export { ChannelAdapters } from "./adapter.ts";
export type { ChannelAdapter, ChannelMessage } from "./adapter.ts";
export { A2A_DEFAULTS, A2aLimits } from "./a2a_limits.ts";
export type { A2aLimitOptions, A2aVerdict } from "./a2a_limits.ts";
export { extractAfter, routeAction } from "./system_actions.ts";
export type { ActionRoute } from "./system_actions.ts";
