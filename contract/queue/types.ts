/**
 * The four segregated queue roles. The sandbox is handed only an
 * {@link InboundReader} and an {@link OutboundWriter}; the host only an
 * {@link InboundWriter} and an {@link OutboundReader}. A type with no write
 * method, `query_only`, and a read-only mount each keep inbound out of the
 * sandbox's reach.
 *
 * @module
 */
import type {
  Destination,
  MessageIn,
  MessageOut,
  NewMessageIn,
  NewMessageOut,
  ProcessingAck,
  SessionRouting,
  TaskRow,
} from "../rows.ts";

/** Sandbox side of `inbound.db`. */
export interface InboundReader extends Disposable {
  /** Queued and scheduled messages that are due now, in seq order. */
  pendingMessages(): MessageIn[];
  /**
   * Messages the host mirrors as being worked on (`processing`), in seq
   * order: with the agent's own acknowledgements, what an agent that
   * stopped was answering.
   */
  engagedMessages(): MessageIn[];
  /** Where the agent may send. */
  destinations(): Destination[];
  /** The conversation's own channel, once known. */
  sessionRouting(): SessionRouting | undefined;
  /** This session's scheduled tasks (active and paused), by next run. */
  tasks(): TaskRow[];
  /**
   * Runs `fn`'s reads as one read transaction: one lock and one freshness
   * check of the file for all of them (each read alone takes its own), and
   * all of them see the same committed state. Nested calls join the outer one.
   */
  read<T>(fn: () => T): T;
  close(): void;
}

/** Sandbox side of `outbound.db`. */
export interface OutboundWriter extends Disposable {
  /** Appends a message; the odd seq is minted inside the INSERT. */
  writeMessageOut(message: NewMessageOut): MessageOut;
  /** Records that these inbound messages are being worked on. */
  markProcessing(ids: readonly string[]): void;
  /** Records that these inbound messages are done. */
  markCompleted(ids: readonly string[]): void;
  /** Stores one key of the agent's durable state. */
  putSessionState(key: string, value: string): void;
  /** Forgets keys of the agent's durable state (absent keys are no error). */
  deleteSessionState(keys: readonly string[]): void;
  /** The agent's own acknowledgements of these messages (read back at start-up). */
  processingAcks(messageIds: readonly string[]): ProcessingAck[];
  /** Reads the agent's durable state back (at start-up). */
  loadSessionState(): Record<string, string>;
  /**
   * Runs `fn`'s writes as one transaction: all of them are committed when it
   * returns, none when it throws. One commit (one journal, one set of fsyncs)
   * instead of one per statement; nested calls join the outer transaction.
   */
  transaction<T>(fn: () => T): T;
  close(): void;
}

/** An acknowledgement as far as mirroring it into an inbound status needs. */
export type StatusAck = Pick<ProcessingAck, "status"> & { messageId: string };

/** Host side of `inbound.db`. */
export interface InboundWriter extends Disposable {
  /** Appends a message; an even seq is minted inside the INSERT unless the caller pins one. */
  writeMessageIn(message: NewMessageIn): MessageIn;
  /** Appends several messages in one transaction (all or none). */
  writeMessagesIn(messages: readonly NewMessageIn[]): MessageIn[];
  /** Replaces the destination list with the registry's. */
  syncDestinations(destinations: readonly Destination[]): void;
  /** Sets where the conversation lives. */
  setSessionRouting(routing: SessionRouting): void;
  /** Replaces the session's task list with the host task store's. */
  syncTasks(tasks: readonly TaskRow[]): void;
  /** Records that an outbound message reached its channel (durable delivery dedup). */
  markDelivered(messageOutId: string, platformMessageId?: string | null): void;
  /** Ids of outbound messages already delivered. */
  deliveredIds(): Set<string>;
  /**
   * Moves rows forward to what the agent acknowledged (`queued` or
   * `scheduled` → `processing` → `completed`), never backward. Returns how
   * many rows changed.
   */
  advanceStatuses(acks: readonly StatusAck[]): number;
  /**
   * Runs `fn`'s writes as one transaction: all of them are committed when it
   * returns, none when it throws. One commit instead of one per call; nested
   * calls join the outer transaction.
   */
  transaction<T>(fn: () => T): T;
  close(): void;
}

/** An outbound row that failed validation: the sandbox is untrusted, so one bad row must not block the rest. */
export interface InvalidOutboundRow {
  seq: number | null;
  id: string | null;
  error: string;
}

/** A read of due outbound messages. */
export interface DueBatch {
  messages: MessageOut[];
  invalid: InvalidOutboundRow[];
  /**
   * The lowest seq above the read's `afterSeq` of a row not due yet
   * (`deliver_after` in the future), or null when there is none: a reader
   * moving its `afterSeq` forward must stay below it.
   */
  firstNotDueSeq: number | null;
}

/** Host side of `outbound.db`. */
export interface OutboundReader extends Disposable {
  /** Messages due for delivery (deliver_after absent or past) with a seq above `afterSeq`, in seq order. */
  dueMessages(afterSeq?: number): DueBatch;
  /** The sandbox's acknowledgements: all of them, or only those of `messageIds`. */
  processingAcks(messageIds?: readonly string[]): ProcessingAck[];
  /** The agent's durable state (read-only view). */
  sessionState(): Record<string, string>;
  close(): void;
}
