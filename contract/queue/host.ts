/**
 * The host's two queue handles: an inbound *writer* and an outbound
 * *reader*, plus provisioning of a session's pair of files.
 *
 * @module
 */
import { isSafeId } from "../ids.ts";
import {
  type Destination,
  type MessageIn,
  NewMessageIn,
  type ProcessingAck,
  type SessionRouting,
  type TaskRow,
} from "../rows.ts";
import { NEXT_EVEN_SEQ_SQL } from "../seq.ts";
import { nowTimestamp } from "../time.ts";
import { INBOUND_SCHEMA, OUTBOUND_SCHEMA, QUEUE_FILES } from "../schema.ts";
import type { Database, Row } from "../sqlite/mod.ts";
import {
  COLUMNS,
  decodeMessageOut,
  decodeSessionState,
  describeZodError,
  selectProcessingAcks,
} from "./codec.ts";
import { openReader, openWriter, type QueueOpenOptions, type QueuePaths, queuePaths } from "./open.ts";
import type { DueBatch, InboundWriter, OutboundReader, StatusAck } from "./types.ts";

/** Inbound statuses in the order they move (never backward). */
const STATUS_ORDER = ["queued", "scheduled", "processing", "completed"] as const;

class SqlInboundWriter implements InboundWriter {
  #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  writeMessageIn(message: NewMessageIn): MessageIn {
    const parsed = NewMessageIn.safeParse(message);
    if (!parsed.success) throw new TypeError(`invalid inbound message: ${describeZodError(parsed.error)}`);
    const m = parsed.data;
    const pinned = m.seq !== undefined && m.seq > 0;
    // The row as stored: every field checked above, so only the minted seq is read back (no second parse).
    const stored: Omit<MessageIn, "seq"> = {
      id: m.id,
      kind: m.kind,
      timestamp: m.timestamp ?? nowTimestamp(),
      status: m.status ?? (m.processAfter ? "scheduled" : "queued"),
      processAfter: m.processAfter ?? null,
      recurrence: m.recurrence ?? null,
      seriesId: m.seriesId ?? null,
      tries: m.tries ?? 0,
      trigger: m.trigger ?? 1,
      platformId: m.platformId ?? null,
      channelType: m.channelType ?? null,
      threadId: m.threadId ?? null,
      content: m.content,
      sourceSessionId: m.sourceSessionId ?? null,
      onWake: m.onWake ?? false,
    };
    const row = this.#db.get<{ seq: number }>(
      `INSERT INTO messages_in (id, seq, kind, timestamp, status, process_after, recurrence, series_id, tries,
         "trigger", platform_id, channel_type, thread_id, content, source_session_id, on_wake)
       VALUES (?, ${pinned ? "?" : NEXT_EVEN_SEQ_SQL}, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       RETURNING seq`,
      [
        stored.id,
        ...(pinned ? [m.seq!] : []),
        stored.kind,
        stored.timestamp,
        stored.status,
        stored.processAfter,
        stored.recurrence,
        stored.seriesId,
        stored.tries,
        stored.trigger,
        stored.platformId,
        stored.channelType,
        stored.threadId,
        stored.content,
        stored.sourceSessionId,
        stored.onWake,
      ],
    );
    return { ...stored, seq: row!.seq };
  }

  writeMessagesIn(messages: readonly NewMessageIn[]): MessageIn[] {
    return this.#db.transaction(() => messages.map((m) => this.writeMessageIn(m)));
  }

  syncDestinations(destinations: readonly Destination[]): void {
    this.#db.transaction(() => {
      this.#db.run("DELETE FROM destinations");
      for (const d of destinations) {
        this.#db.run(
          `INSERT INTO destinations (name, display_name, type, channel_type, platform_id, agent_group_id)
           VALUES (?, ?, ?, ?, ?, ?)`,
          [d.name, d.displayName, d.type, d.channelType, d.platformId, d.agentGroupId],
        );
      }
    });
  }

  setSessionRouting(routing: SessionRouting): void {
    this.#db.run(
      `INSERT INTO session_routing (id, channel_type, platform_id, thread_id) VALUES (1, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET channel_type = excluded.channel_type, platform_id = excluded.platform_id,
         thread_id = excluded.thread_id`,
      [routing.channelType, routing.platformId, routing.threadId],
    );
  }

  syncTasks(tasks: readonly TaskRow[]): void {
    this.#db.transaction(() => {
      this.#db.run("DELETE FROM tasks");
      for (const t of tasks) {
        this.#db.run("INSERT INTO tasks (id, prompt, next_run, recurrence, state) VALUES (?, ?, ?, ?, ?)", [
          t.id,
          t.prompt,
          t.nextRun,
          t.recurrence,
          t.state,
        ]);
      }
    });
  }

  markDelivered(messageOutId: string, platformMessageId: string | null = null): void {
    this.#db.run(
      `INSERT INTO delivered (message_out_id, platform_message_id, status, delivered_at) VALUES (?, ?, 'delivered', ?)
       ON CONFLICT (message_out_id) DO NOTHING`,
      [messageOutId, platformMessageId, nowTimestamp()],
    );
  }

  deliveredIds(): Set<string> {
    return new Set(this.#db.all("SELECT message_out_id FROM delivered").map((r) => String(r.message_out_id)));
  }

  advanceStatuses(acks: readonly StatusAck[]): number {
    if (acks.length === 0) return 0;
    return this.#db.transaction(() => {
      let changed = 0;
      for (const ack of acks) {
        const earlier = STATUS_ORDER.slice(0, STATUS_ORDER.indexOf(ack.status));
        changed += this.#db.run(
          `UPDATE messages_in SET status = ? WHERE id = ? AND status IN (${
            earlier.map(() => "?").join(", ")
          })`,
          [ack.status, ack.messageId, ...earlier],
        );
      }
      return changed;
    });
  }

  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn);
  }

  close(): void {
    this.#db.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

class SqlOutboundReader implements OutboundReader {
  #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  dueMessages(afterSeq = 0): DueBatch {
    const now = nowTimestamp();
    // One read transaction: the held-back seq and the due rows are of the same state of the file.
    return this.#db.transaction(() => {
      const later = this.#db.get(
        "SELECT MIN(seq) AS seq FROM messages_out WHERE seq > ? AND deliver_after > ?",
        [afterSeq, now],
      );
      const rows = this.#db.all(
        `SELECT ${COLUMNS.messagesOut} FROM messages_out
         WHERE seq > ? AND (deliver_after IS NULL OR deliver_after <= ?) ORDER BY seq`,
        [afterSeq, now],
      );
      return this.#decodeDue(rows, typeof later?.seq === "number" ? later.seq : null);
    }, "deferred");
  }

  #decodeDue(rows: Row[], firstNotDueSeq: number | null): DueBatch {
    const batch: DueBatch = { messages: [], invalid: [], firstNotDueSeq };
    for (const row of rows) {
      const decoded = decodeMessageOut(row);
      if (decoded.success) batch.messages.push(decoded.data);
      else {
        batch.invalid.push({
          seq: typeof row.seq === "number" ? row.seq : null,
          id: typeof row.id === "string" ? row.id.slice(0, 160) : null,
          error: describeZodError(decoded.error),
        });
      }
    }
    return batch;
  }

  processingAcks(messageIds?: readonly string[]): ProcessingAck[] {
    return selectProcessingAcks(this.#db, messageIds);
  }

  sessionState(): Record<string, string> {
    return decodeSessionState(this.#db.all("SELECT key, value FROM session_state"));
  }

  close(): void {
    this.#db.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Opens a session's `inbound.db` for the host (it must be provisioned). */
export function openInboundWriter(path: string, opts: QueueOpenOptions): InboundWriter {
  return inboundWriterOn(openWriter(path, opts));
}

/**
 * The host's inbound writer over a connection its caller opened with
 * `openWriter` and also reads through (closing the writer closes it): one
 * connection keeps its page cache across the writer's commits, where a
 * second one would read and decrypt its pages again after each of them.
 */
export function inboundWriterOn(db: Database): InboundWriter {
  return new SqlInboundWriter(db);
}

/** Opens a session's `outbound.db` read-only for the host. */
export function openOutboundReader(path: string, opts: QueueOpenOptions): OutboundReader {
  return new SqlOutboundReader(openReader(path, opts));
}

/** A session id that would escape the queue root. */
export class UnsafeSessionIdError extends Error {
  override name = "UnsafeSessionIdError";
  constructor(readonly sessionId: string) {
    super(
      `refusing unsafe session id ${JSON.stringify(sessionId)}: it could name a path outside the queue root`,
    );
  }
}

/** Paths of a session's queues under `root`, refusing ids that could escape it. */
export function sessionQueuePaths(root: string, sessionId: string): QueuePaths {
  if (!isSafeId(sessionId)) throw new UnsafeSessionIdError(sessionId);
  return queuePaths(`${root}/${sessionId}`);
}

/** Ownership to give the session's queue directories and files: the sandbox's uid/gid, when the host runs as root. */
export interface ProvisionOptions extends QueueOpenOptions {
  sandboxUid?: number;
  sandboxGid?: number;
  /**
   * Where the outbound directory really is, when not `<session>/out`: on
   * bounded storage the host chose (files are opened without following
   * symlinks, so the host names the real directory).
   */
  outboundDir?: string;
}

/** `paths` with the outbound queue (and the heartbeat beside it) in `outboundDir` instead (unchanged when undefined). */
export function withOutboundDir(paths: QueuePaths, outboundDir: string | undefined): QueuePaths {
  if (outboundDir === undefined) return paths;
  return {
    ...paths,
    outboundDir,
    outbound: `${outboundDir}/${QUEUE_FILES.outbound}`,
    heartbeat: `${outboundDir}/${QUEUE_FILES.heartbeat}`,
  };
}

/**
 * Creates both files of a session with their schemas (idempotent: existing
 * data survives). Directories are 0700 and files 0600. With a sandbox uid,
 * both `in/` and `out/` are handed to it: inbound stays read-only through its
 * mount, outbound and its journal must be writable by the agent.
 */
export function provisionSession(root: string, sessionId: string, opts: ProvisionOptions): QueuePaths {
  const paths = withOutboundDir(sessionQueuePaths(root, sessionId), opts.outboundDir);
  for (const dir of [paths.dir, paths.inboundDir, paths.outboundDir]) {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    Deno.chmodSync(dir, 0o700);
  }
  openWriter(paths.inbound, opts, INBOUND_SCHEMA).close();
  openWriter(paths.outbound, opts, OUTBOUND_SCHEMA).close();
  for (const file of [paths.inbound, paths.outbound]) Deno.chmodSync(file, 0o600);
  if (opts.sandboxUid !== undefined) {
    const gid = opts.sandboxGid ?? opts.sandboxUid;
    for (const path of [paths.inboundDir, paths.inbound, paths.outboundDir, paths.outbound]) {
      Deno.chownSync(path, opts.sandboxUid, gid);
    }
  }
  return paths;
}

export type { InboundWriter, OutboundReader, QueuePaths };
