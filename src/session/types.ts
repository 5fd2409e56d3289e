/**
 * What the host's message path needs from the session manager: queue handles
 * per session, and a way to wake a session's sandbox. The router, delivery,
 * scheduler and question loop depend on these interfaces only.
 *
 * @module
 */
import type { SessionId } from "../../contract/ids.ts";
import type { InboundWriter, OutboundReader } from "../../contract/queue/mod.ts";

/** Queue handles per session. Handles are cached by the provider: callers never close them. */
export interface SessionQueues {
  /**
   * The inbound writer of a session: its files provisioned, its key in
   * custody, and its routing, destinations and tasks synced.
   */
  inboundWriter(sessionId: SessionId): Promise<InboundWriter>;
  /** The outbound reader of a session (provisioned if new). */
  outboundReader(sessionId: SessionId): Promise<OutboundReader>;
}

/** Wakes a session: starts its sandbox when it is not running, and rings its doorbell. */
export interface SessionWaker {
  /** Rings the session's sandbox, started first when it is not running; resolves once that is done. */
  wake(sessionId: SessionId): Promise<void>;
  /**
   * As `wake`, but resolves once the wake is under way (rung, deferred by
   * the backoff, its sandbox starting, or queued behind the session's stop or
   * start in progress), not after a sandbox start: what answers a sender
   * once their message is queued. Throws what `wake` throws before a start
   * (a parked session). Absent: callers use `wake`.
   */
  wakeSoon?(sessionId: SessionId): Promise<void>;
  /** Stops a session's sandbox, deliberately (absent where no sandbox outlives a message: a harness's waker). */
  stop?(sessionId: SessionId): Promise<void>;
}
