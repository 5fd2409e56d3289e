/**
 * Liveness probes: how long since a session's agent last beat its heartbeat
 * file, and how long its oldest unfinished claim (a `processing` ack) has
 * been open.
 *
 * @module
 */
import type { SessionId } from "../../contract/ids.ts";
import type { SessionQueues } from "../session/mod.ts";

/** Ages in milliseconds; -1 means unknown (no heartbeat file, no open claim). */
export interface ProbeResult {
  heartbeatAgeMs: number;
  claimAgeMs: number;
}

/** Probes one session. */
export interface SessionProbe {
  probe(sessionId: SessionId): Promise<ProbeResult>;
}

/** What the queue-backed probe needs. */
export interface QueueProbeDeps {
  queues: SessionQueues;
  /** The agent's heartbeat file of a session (it writes it on every poll). */
  heartbeatPath: (sessionId: SessionId) => string;
  /** Epoch-millisecond clock (tests pin it). */
  now?: () => number;
}

/** Heartbeat from the file's modification time, claims from the outbound acks. */
export class QueueProbe implements SessionProbe {
  #d: QueueProbeDeps;

  constructor(deps: QueueProbeDeps) {
    this.#d = deps;
  }

  async probe(sessionId: SessionId): Promise<ProbeResult> {
    const now = (this.#d.now ?? Date.now)();
    let heartbeatAgeMs = -1;
    try {
      const mtime = (await Deno.stat(this.#d.heartbeatPath(sessionId))).mtime;
      if (mtime) heartbeatAgeMs = Math.max(0, now - mtime.getTime());
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    let claimAgeMs = -1;
    try {
      const open = (await this.#d.queues.outboundReader(sessionId)).processingAcks()
        .filter((a) => a.status === "processing")
        .map((a) => Date.parse(a.statusChanged));
      if (open.length > 0) claimAgeMs = Math.max(0, now - Math.min(...open));
    } catch {
      // Unreadable acks leave the claim age unknown; the heartbeat still decides.
    }
    return { heartbeatAgeMs, claimAgeMs };
  }
}
