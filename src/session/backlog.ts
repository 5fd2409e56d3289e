/**
 * Back-pressure on a session's inbound queue. A session whose agent has not
 * answered `cap` inbound messages yet takes no new message from a channel or
 * another agent until it catches up, so a flood at a slow or stopped agent
 * (many clients, a chat channel, agent-to-agent sends) is refused at the
 * edge instead of growing that session's queue file without bound.
 *
 * The backlog is the session's inbound rows not answered yet: `queued` and
 * due `scheduled` rows the agent has not taken up, and `processing` rows it
 * has taken up but not completed (its acknowledgements, which delivery
 * mirrors into the inbound statuses). The gate counts it in the same
 * synchronous host turn as the write it guards, so concurrent sends cannot
 * overshoot the cap.
 *
 * One exception keeps a session that only accumulates from locking up for
 * good: trigger-0 rows wait for an engaging message, and the agent takes
 * them up only with one. So an engaging message over the cap is still let
 * in when no engaging row is waiting (the backlog then stops at cap + 1).
 *
 * Counting is cheap: rows below a session's low-water mark (the oldest row
 * not completed, remembered per session) are all completed and stay so
 * (statuses only move forward, new rows get a higher seq), so the count is a
 * range scan of the seq index over the backlog and the rows after it, not
 * of the whole history. After a restart the first count scans once.
 *
 * @module
 */
import type { SessionId } from "../../contract/ids.ts";
import type { InboundWriter } from "../../contract/queue/mod.ts";
import type { Database } from "../../contract/sqlite/mod.ts";
import type { Timestamp } from "../../contract/time.ts";
import { logger } from "../log/mod.ts";
import type { Counter, MetricsRegistry } from "../metrics/mod.ts";

/** Unanswered inbound messages a session may hold before new ones are refused. */
export const DEFAULT_INBOUND_BACKLOG_CAP = 200;

/**
 * Seconds a refused sender is told to wait. A hint, not a promise: the
 * agent answers its whole backlog in one turn, whose length the host cannot
 * know (a mock model answers in milliseconds, a real one in seconds).
 */
export const BACKLOG_RETRY_AFTER_SECONDS = 5;

/** A session's unanswered inbound rows. */
export interface InboundBacklog {
  /** Rows not answered yet (queued, due scheduled, processing). */
  unanswered: number;
  /** Those of them that engage the agent (trigger 1). */
  engaging: number;
}

/** One synchronous host turn on a session's inbound queue. */
export interface InboundTurn {
  /** The host's inbound writer. */
  writer: InboundWriter;
  /** Counts the session's backlog now. */
  backlog(): InboundBacklog;
  /** Whether a row with this id is already in the queue. */
  has(id: string): boolean;
}

/** Where the gate takes its turns: the session queue store. */
export interface InboundTurns {
  /**
   * Runs `fn` synchronously in a host turn on the session's inbound queue
   * (provisioning it first); nothing else can write the queue meanwhile.
   */
  inboundTurn<T>(sessionId: SessionId, fn: (turn: InboundTurn) => T): Promise<T>;
}

/** The session's backlog is at its cap: the message was not queued. */
export class SessionBacklogFullError extends Error {
  override name = "SessionBacklogFullError";
  /** How long the sender should wait before trying again. */
  readonly retryAfterSeconds = BACKLOG_RETRY_AFTER_SECONDS;
  constructor(readonly sessionId: SessionId, readonly backlog: number, readonly cap: number) {
    super(
      `session ${sessionId} has ${backlog} unanswered inbound messages (its cap is ${cap}); ` +
        "it takes new ones once its agent catches up, retry later",
    );
  }
}

/** What is being let in. */
export interface Admission {
  /** True for a message that engages the agent (trigger 1). */
  engaging: boolean;
  /** The channel it comes from (`web`, `telegram`, `agent`, …): a metrics label. */
  channel: string;
  /**
   * The row's id when it is stable across retries: a row already queued is
   * written again (a no-op for an idempotent writer) without being counted.
   */
  id?: string;
}

/** How to build a gate. */
export interface BacklogGateOptions {
  queues: InboundTurns;
  /** Default {@link DEFAULT_INBOUND_BACKLOG_CAP}. */
  cap?: number;
  metrics?: MetricsRegistry;
}

/**
 * Admits inbound writes while a session's backlog is under the cap. Shared by
 * the router and delivery, so a session's shedding is logged once however
 * its messages arrive: one warning when it starts refusing, one line when it
 * takes messages again.
 */
export class BacklogGate {
  /** The cap in force. */
  readonly cap: number;
  #queues: InboundTurns;
  #shedding = new Set<SessionId>();
  #refused?: Counter;
  #log = logger("backlog");

  constructor(options: BacklogGateOptions) {
    const cap = options.cap ?? DEFAULT_INBOUND_BACKLOG_CAP;
    if (!Number.isSafeInteger(cap) || cap < 1) {
      throw new RangeError(`the inbound backlog cap must be a whole number >= 1, got ${cap}`);
    }
    this.cap = cap;
    this.#queues = options.queues;
    this.#refused = options.metrics?.counter(
      "ironclaw_inbound_refused_total",
      "Inbound messages refused before they were queued, by reason and channel.",
    );
  }

  /**
   * Runs `write` with the session's inbound writer when the backlog admits
   * the message, in the same host turn as the count; throws
   * {@link SessionBacklogFullError} (nothing written) when it does not.
   */
  write<T>(sessionId: SessionId, admission: Admission, write: (writer: InboundWriter) => T): Promise<T> {
    return this.#queues.inboundTurn(sessionId, (turn) => {
      if (admission.id === undefined || !turn.has(admission.id)) {
        this.#admit(sessionId, admission, turn.backlog());
      }
      return write(turn.writer);
    });
  }

  /**
   * Throws {@link SessionBacklogFullError} when the session would refuse the
   * message now. A pre-check for work to do before the write (a channel
   * storing the message's files): {@link write} still decides.
   */
  check(sessionId: SessionId, admission: Admission): Promise<void> {
    return this.#queues.inboundTurn(sessionId, (turn) => this.#admit(sessionId, admission, turn.backlog()));
  }

  /** The sessions refusing messages now (as of their last attempted write). */
  shedding(): SessionId[] {
    return [...this.#shedding];
  }

  #admit(sessionId: SessionId, admission: Admission, backlog: InboundBacklog): void {
    const full = backlog.unanswered >= this.cap && !(admission.engaging && backlog.engaging === 0);
    if (!full) {
      if (this.#shedding.delete(sessionId)) {
        this.#log.info("session {sessionId} takes messages again ({backlog} unanswered, cap {cap})", {
          sessionId,
          backlog: backlog.unanswered,
          cap: this.cap,
        });
      }
      return;
    }
    this.#refused?.inc({ reason: "backlog-full", channel: admission.channel });
    if (!this.#shedding.has(sessionId)) {
      this.#shedding.add(sessionId);
      this.#log.warn(
        "session {sessionId} is shedding messages: {backlog} unanswered inbound, cap {cap}; " +
          "new ones are refused until its agent catches up",
        { sessionId, backlog: backlog.unanswered, cap: this.cap },
      );
    }
    throw new SessionBacklogFullError(sessionId, backlog.unanswered, this.cap);
  }
}

/** A row counts when it is taken up, or waiting and due. */
const UNANSWERED = "(status = 'processing' OR process_after IS NULL OR process_after <= ?)";

/**
 * Counts the unanswered rows of an inbound queue from seq `floor` on, and
 * returns the next floor: the oldest row not completed, else one past the
 * newest row. `floor` must be a previous result (or 0): every row below it
 * is completed.
 */
export function countBacklog(
  db: Database,
  floor: number,
  now: Timestamp,
): { backlog: InboundBacklog; floor: number } {
  const row = db.get(
    `SELECT MIN(seq) AS first,
       COUNT(CASE WHEN ${UNANSWERED} THEN 1 END) AS unanswered,
       COUNT(CASE WHEN ${UNANSWERED} AND "trigger" = 1 THEN 1 END) AS engaging
     FROM messages_in WHERE seq >= ? AND status <> 'completed'`,
    [now, now, floor],
  );
  const backlog = { unanswered: Number(row?.unanswered ?? 0), engaging: Number(row?.engaging ?? 0) };
  if (row?.first !== null && row?.first !== undefined) return { backlog, floor: Number(row.first) };
  // Nothing is open: the next row to watch is the next one written.
  const next = db.get("SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM messages_in");
  return { backlog, floor: Math.max(floor, Number(next?.next ?? floor)) };
}
