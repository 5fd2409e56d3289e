/**
 * A session's queues as the host holds them: the store of per-session queue
 * handles (keyed, provisioned and leased on first use), the queue lease the
 * agent takes turns on, the inbound backlog gate, and the outbound queue's
 * home outside the sandbox.
 *
 * ```ts
 * import { ControlPlane } from "../control_plane/mod.ts";
 *
 * const stateDir = await Deno.makeTempDir();
 * const plane = await ControlPlane.open({ stateDir, dev: true, background: false });
 * const queues: SessionQueueStore = plane.queues;
 * const gate = new BacklogGate({ queues, cap: DEFAULT_INBOUND_BACKLOG_CAP });
 * console.log(gate instanceof BacklogGate, AGENT_CHANNEL);
 * await plane.close();
 * await Deno.remove(stateDir, { recursive: true });
 * ```
 *
 * @module
 */
export { AGENT_CHANNEL, isQueueDamage, QueueDamagedError, SessionQueueStore } from "./queues.ts";
export type { SessionKeySource, SessionQueueStoreOptions, TaskSource } from "./queues.ts";
export type { StatusAck } from "../../contract/queue/mod.ts";
export type { SessionQueues, SessionWaker } from "./types.ts";
export { QueueLease } from "./queue_lease.ts";
export type { AgentLease, QueueLeaseOptions } from "./queue_lease.ts";
export {
  BACKLOG_RETRY_AFTER_SECONDS,
  BacklogGate,
  countBacklog,
  DEFAULT_INBOUND_BACKLOG_CAP,
  SessionBacklogFullError,
} from "./backlog.ts";
export type { Admission, BacklogGateOptions, InboundBacklog, InboundTurn, InboundTurns } from "./backlog.ts";
export {
  guardInboundWriter,
  guardOutboundReader,
  OutboundJournalPendingError,
  QueueLeaseBusyError,
} from "./guarded_queues.ts";
export { homeOutbound, outboundHomeOf } from "./outbound_home.ts";
