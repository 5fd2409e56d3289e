/**
 * The sandbox's two queue handles: an inbound *reader* and an outbound
 * *writer*. Nothing here can write inbound.
 *
 * @module
 */
import { type MessageIn, type MessageOut, NewMessageOut, type SessionRouting } from "../rows.ts";
import { NEXT_ODD_SEQ_SQL } from "../seq.ts";
import { nowTimestamp } from "../time.ts";
import { OUTBOUND_SCHEMA } from "../schema.ts";
import type { Database } from "../sqlite/mod.ts";
import {
  COLUMNS,
  decodeDestination,
  decodeMessageIn,
  decodeMessageOut,
  decodeSessionRouting,
  decodeSessionState,
  decodeTask,
  describeZodError,
  selectProcessingAcks,
} from "./codec.ts";
import { CorruptionStreak } from "./corruption.ts";
import { openReader, openWriter, type QueueOpenOptions } from "./open.ts";
import type { InboundReader, OutboundWriter } from "./types.ts";
import type { Destination, ProcessingAck, TaskRow } from "../rows.ts";

class SqlInboundReader implements InboundReader {
  #db: Database;
  #streak: CorruptionStreak;

  constructor(db: Database) {
    this.#db = db;
    this.#streak = new CorruptionStreak(db.path);
  }

  pendingMessages(): MessageIn[] {
    return this.#streak.guard(() =>
      this.#db.all(
        `SELECT ${COLUMNS.messagesIn} FROM messages_in
         WHERE status IN ('queued', 'scheduled') AND (process_after IS NULL OR process_after <= ?)
         ORDER BY seq`,
        [nowTimestamp()],
      ).map(decodeMessageIn)
    );
  }

  engagedMessages(): MessageIn[] {
    return this.#streak.guard(() =>
      this.#db.all(`SELECT ${COLUMNS.messagesIn} FROM messages_in WHERE status = 'processing' ORDER BY seq`)
        .map(decodeMessageIn)
    );
  }

  destinations(): Destination[] {
    return this.#db.all(`SELECT ${COLUMNS.destinations} FROM destinations ORDER BY name`).map(
      decodeDestination,
    );
  }

  sessionRouting(): SessionRouting | undefined {
    const row = this.#db.get("SELECT channel_type, platform_id, thread_id FROM session_routing WHERE id = 1");
    return row ? decodeSessionRouting(row) : undefined;
  }

  tasks(): TaskRow[] {
    return this.#db.all(
      "SELECT id, prompt, next_run, recurrence, state FROM tasks WHERE state IN ('active', 'paused') ORDER BY next_run, id",
    ).map(decodeTask);
  }

  read<T>(fn: () => T): T {
    return this.#db.transaction(fn, "deferred");
  }

  close(): void {
    this.#db.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

class SqlOutboundWriter implements OutboundWriter {
  #db: Database;
  /** The last `user_version` written, when every commit must change page 1 (private locks); else undefined. */
  #stamp: number | undefined;

  constructor(db: Database, privateLocks: boolean) {
    this.#db = db;
    if (privateLocks) this.#stamp = Number(db.get("PRAGMA user_version")?.user_version ?? 0);
  }

  writeMessageOut(message: NewMessageOut): MessageOut {
    const parsed = NewMessageOut.safeParse(message);
    if (!parsed.success) throw new TypeError(`invalid outbound message: ${describeZodError(parsed.error)}`);
    const m = parsed.data;
    const row = this.transaction(() =>
      this.#db.get(
        `INSERT INTO messages_out (id, seq, in_reply_to, timestamp, deliver_after, recurrence, kind, platform_id,
         channel_type, thread_id, content)
       VALUES (?, ${NEXT_ODD_SEQ_SQL}, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       RETURNING ${COLUMNS.messagesOut}`,
        [
          m.id,
          m.inReplyTo ?? null,
          m.timestamp ?? nowTimestamp(),
          m.deliverAfter ?? null,
          m.recurrence ?? null,
          m.kind,
          m.platformId ?? null,
          m.channelType ?? null,
          m.threadId ?? null,
          m.content,
        ],
      )
    );
    const decoded = decodeMessageOut(row!);
    if (!decoded.success) {
      throw new TypeError(`outbound row did not round-trip: ${describeZodError(decoded.error)}`);
    }
    return decoded.data;
  }

  markProcessing(ids: readonly string[]): void {
    this.#ack(ids, "processing");
  }

  markCompleted(ids: readonly string[]): void {
    this.#ack(ids, "completed");
  }

  #ack(ids: readonly string[], status: "processing" | "completed"): void {
    if (ids.length === 0) return;
    const at = nowTimestamp();
    this.transaction(() => {
      for (const id of ids) {
        this.#db.run(
          `INSERT INTO processing_ack (message_id, status, status_changed) VALUES (?, ?, ?)
           ON CONFLICT (message_id) DO UPDATE SET status = excluded.status, status_changed = excluded.status_changed`,
          [id, status, at],
        );
      }
    });
  }

  putSessionState(key: string, value: string): void {
    this.transaction(() =>
      this.#db.run(
        `INSERT INTO session_state (key, value, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
        [key, value, nowTimestamp()],
      )
    );
  }

  deleteSessionState(keys: readonly string[]): void {
    if (keys.length === 0) return;
    this.transaction(() => {
      for (const key of keys) this.#db.run("DELETE FROM session_state WHERE key = ?", [key]);
    });
  }

  processingAcks(messageIds: readonly string[]): ProcessingAck[] {
    return selectProcessingAcks(this.#db, messageIds);
  }

  loadSessionState(): Record<string, string> {
    return decodeSessionState(this.#db.all("SELECT key, value FROM session_state"));
  }

  transaction<T>(fn: () => T): T {
    if (this.#stamp === undefined || this.#db.inTransaction) return this.#db.transaction(fn);
    return this.#db.transaction(() => {
      const result = fn();
      // An exclusive connection bumps the change counter once per lock: a page-1 change makes the host see this commit.
      this.#stamp = (this.#stamp! + 1) % 0x7fffffff;
      this.#db.exec(`PRAGMA user_version = ${this.#stamp}`);
      return result;
    });
  }

  close(): void {
    this.#db.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Opens `inbound.db` read-only for the sandbox; with `privateLocks` (gVisor) it takes no file locks. */
export function openInboundReader(path: string, opts: QueueOpenOptions): InboundReader {
  return new SqlInboundReader(openReader(path, opts));
}

/**
 * Opens `outbound.db` for the sandbox. The host provisions the file; the
 * schema statements are idempotent, so a fresh file is also usable. With
 * `privateLocks` (gVisor) the connection keeps its lock and journal for its
 * life and changes page 1 in every commit, so the host's reader sees each one.
 */
export function openOutboundWriter(path: string, opts: QueueOpenOptions): OutboundWriter {
  return new SqlOutboundWriter(openWriter(path, opts, OUTBOUND_SCHEMA), opts.privateLocks ?? false);
}

export type { InboundReader, OutboundWriter };
