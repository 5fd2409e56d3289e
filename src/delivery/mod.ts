/**
 * Delivery: every session's outbound rows carried out exactly once (durable
 * marks in the inbound `delivered` table): system actions to the task store,
 * the question store or the gateway; agent-to-agent messages to the target
 * group's sessions; chat to channel adapters.
 *
 * ```ts
 * import { ControlPlane } from "../control_plane/mod.ts";
 *
 * const stateDir = await Deno.makeTempDir();
 * const plane = await ControlPlane.open({ stateDir, dev: true, background: false });
 * const { registry, queues, waker, webChat, gateway, tasks, scheduler, questions, metrics, backlog } = plane;
 * const adapters = new ChannelAdapters([webChat]);
 * const delivery = new Delivery({
 *   ...{ registry, queues, waker, adapters, gateway, tasks, scheduler, questions, metrics, backlog },
 *   statuses: queues,
 * });
 * delivery.start(); // a doorbell's onOutbound calls delivery.notify(sessionId)
 * await delivery.stop();
 * await plane.close();
 * await Deno.remove(stateDir, { recursive: true });
 * ```
 *
 * @module
 */
export { Delivery, LAZY_MARK_MS } from "./delivery.ts";
export type { DeliveryDeps, InboundStatusMirror, SessionPass } from "./delivery.ts";
export type { RowOutcome } from "./outcome.ts";
export { formatTaskList } from "./task_actions.ts";
export type { TaskSync } from "./task_actions.ts";
export { ChannelAdapters } from "./adapter.ts";
export {
  modelFailureNotice,
  NOTICE_INTERVAL_MS,
  type NoticeTopic,
  parkedNotice,
  sandboxStartNotice,
  type SentNotice,
  SessionNotices,
} from "./notices.ts";
export type { ChannelAdapter, ChannelMessage } from "./adapter.ts";
export { A2A_DEFAULTS, A2aLimits } from "./a2a_limits.ts";
export type { A2aLimitOptions, A2aVerdict } from "./a2a_limits.ts";
export { extractAfter, routeAction } from "./system_actions.ts";
export type { ActionRoute } from "./system_actions.ts";
export { type ChannelFile, type ChannelTarget } from "./adapter.ts";
