/**
 * The host's queue handles as callers get them: every call checks that the
 * agent does not hold the session's queue lease at that moment, and the
 * outbound reader turns a hot journal into a transient error.
 *
 * Callers take a handle with `await queues.inboundWriter(sid)` (which starts
 * a host turn, see {@link QueueLease.hold}) and use it right away. A handle
 * kept across another `await` may meet an agent's lease: the call then
 * throws {@link QueueLeaseBusyError} instead of racing the agent's
 * transaction, and the caller retries with a fresh `await`.
 *
 * @module
 */
import { type InboundWriter, isHotJournal, type OutboundReader } from "../../contract/queue/mod.ts";
import type { QueueLease } from "./queue_lease.ts";

/** A host queue call while the agent held the lease (the handle was kept across an `await`). */
export class QueueLeaseBusyError extends Error {
  override name = "QueueLeaseBusyError";
  constructor(readonly path: string) {
    super(`${path}: the sandbox holds the queue lease; take the handle again (await) and retry`);
  }
}

/**
 * The agent's outbound file needs a rollback the host's read-only reader may
 * not do: an agent write was cut short (a crash, or a write past its lease).
 * Transient: the agent rolls the journal back when it next opens the file,
 * so the read is retried later; nothing is lost or damaged.
 */
export class OutboundJournalPendingError extends Error {
  override name = "OutboundJournalPendingError";
  constructor(readonly path: string, options?: ErrorOptions) {
    super(
      `${path}: an interrupted sandbox write left a hot journal; the agent must recover it on restart (retrying later)`,
      options,
    );
  }
}

function guard(lease: QueueLease, path: string): void {
  if (lease.agentHolding) throw new QueueLeaseBusyError(path);
}

/** `writer`, refusing calls while the agent holds `lease`. */
export function guardInboundWriter(writer: InboundWriter, lease: QueueLease, path: string): InboundWriter {
  const run = <T>(fn: () => T): T => {
    guard(lease, path);
    return fn();
  };
  return {
    writeMessageIn: (message) => run(() => writer.writeMessageIn(message)),
    writeMessagesIn: (messages) => run(() => writer.writeMessagesIn(messages)),
    syncDestinations: (destinations) => run(() => writer.syncDestinations(destinations)),
    setSessionRouting: (routing) => run(() => writer.setSessionRouting(routing)),
    syncTasks: (tasks) => run(() => writer.syncTasks(tasks)),
    markDelivered: (id, platformMessageId) => run(() => writer.markDelivered(id, platformMessageId)),
    deliveredIds: () => run(() => writer.deliveredIds()),
    advanceStatuses: (acks) => run(() => writer.advanceStatuses(acks)),
    transaction: (fn) => run(() => writer.transaction(fn)),
    // The store owns the handles: callers never close them.
    close: () => {},
    [Symbol.dispose]: () => {},
  };
}

/** `reader`, refusing calls while the agent holds `lease`, with hot journals reported as transient. */
export function guardOutboundReader(reader: OutboundReader, lease: QueueLease, path: string): OutboundReader {
  const run = <T>(fn: () => T): T => {
    guard(lease, path);
    try {
      return fn();
    } catch (err) {
      if (isHotJournal(err)) throw new OutboundJournalPendingError(path, { cause: err });
      throw err;
    }
  };
  return {
    dueMessages: (afterSeq) => run(() => reader.dueMessages(afterSeq)),
    processingAcks: (messageIds) => run(() => reader.processingAcks(messageIds)),
    sessionState: () => run(() => reader.sessionState()),
    close: () => {},
    [Symbol.dispose]: () => {},
  };
}
