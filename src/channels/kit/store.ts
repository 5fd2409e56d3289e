/**
 * What a channel remembers across restarts, in the encrypted state
 * database: its update cursor, when its platform has one (Telegram's
 * `getUpdates` offset: no update handled twice or skipped), which platform
 * message each routed row and each sent piece is
 * (so replies thread onto the right message and a retried reply never sends
 * a piece twice), and where each question was posted.
 *
 * @module
 */
import { nowTimestamp, type Timestamp } from "../../../contract/time.ts";
import type { Database } from "../../../contract/sqlite/mod.ts";
import type { StateDb } from "../../state/mod.ts";

/** A platform message as stored: its chat and its id there. */
export interface PlatformMessage {
  chatId: string;
  messageId: string;
}

/** Per-channel durable memory (rows keyed by the channel's name). */
export class ChannelStore {
  #db: Database;
  #now: () => Timestamp;

  constructor(state: StateDb, readonly channel: string, options: { now?: () => Timestamp } = {}) {
    this.#db = state.db;
    this.#now = options.now ?? nowTimestamp;
  }

  /** The next update id to ask for (0 before the first). */
  cursor(): number {
    const row = this.#db.get("SELECT cursor FROM channel_cursors WHERE channel = ?", [this.channel]);
    return (row?.cursor as number | undefined) ?? 0;
  }

  /** Moves the cursor to `next` (never backwards). */
  advanceCursor(next: number): void {
    this.#db.run(
      `INSERT INTO channel_cursors (channel, cursor, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (channel) DO UPDATE SET cursor = max(cursor, excluded.cursor), updated_at = excluded.updated_at`,
      [this.channel, next, this.#now()],
    );
  }

  /** Remembers that piece `part` of our row `ref` is platform message `messageId` in `chatId`. */
  recordMessage(ref: string, part: number, chatId: string, messageId: string): void {
    this.#db.run(
      `INSERT INTO channel_messages (channel, ref, part, chat_id, platform_message_id, created_at)
       VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      [this.channel, ref, part, chatId, messageId, this.#now()],
    );
  }

  /** The platform message of piece `part` of `ref`, if recorded. */
  message(ref: string, part = 0): PlatformMessage | undefined {
    const row = this.#db.get(
      "SELECT chat_id, platform_message_id FROM channel_messages WHERE channel = ? AND ref = ? AND part = ?",
      [this.channel, ref, part],
    );
    return row && { chatId: row.chat_id as string, messageId: row.platform_message_id as string };
  }

  /** Whether platform message `messageId` of `chatId` was recorded (a redelivered event is then handled already). */
  hasPlatformMessage(chatId: string, messageId: string): boolean {
    return this.#db.get(
      "SELECT 1 AS x FROM channel_messages WHERE channel = ? AND chat_id = ? AND platform_message_id = ? LIMIT 1",
      [this.channel, chatId, messageId],
    ) !== undefined;
  }

  /** Every recorded piece of `ref`: part → platform message id. */
  sentParts(ref: string): Map<number, string> {
    const rows = this.#db.all(
      "SELECT part, platform_message_id FROM channel_messages WHERE channel = ? AND ref = ? ORDER BY part",
      [this.channel, ref],
    );
    return new Map(rows.map((r) => [r.part as number, r.platform_message_id as string]));
  }

  /** Remembers where question `questionId` was posted. */
  recordQuestion(questionId: string, chatId: string, messageId: string): void {
    this.#db.run(
      `INSERT INTO channel_questions (question_id, channel, chat_id, platform_message_id, posted_at)
       VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      [questionId, this.channel, chatId, messageId, this.#now()],
    );
  }

  /** Where question `questionId` was posted on this channel, if it was. */
  question(questionId: string): PlatformMessage | undefined {
    const row = this.#db.get(
      "SELECT chat_id, platform_message_id FROM channel_questions WHERE question_id = ? AND channel = ?",
      [questionId, this.channel],
    );
    return row && { chatId: row.chat_id as string, messageId: row.platform_message_id as string };
  }

  /** The question posted as message `messageId` of `chatId`, if any. */
  questionAt(chatId: string, messageId: string): string | undefined {
    const row = this.#db.get(
      `SELECT question_id FROM channel_questions
       WHERE channel = ? AND chat_id = ? AND platform_message_id = ?`,
      [this.channel, chatId, messageId],
    );
    return row?.question_id as string | undefined;
  }

  /** Forgets message references older than `before` (threading onto a weeks-old message is not needed). */
  pruneMessages(before: Timestamp): number {
    return this.#db.run("DELETE FROM channel_messages WHERE channel = ? AND created_at < ?", [
      this.channel,
      before,
    ]);
  }
}
