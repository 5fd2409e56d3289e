/**
 * The gateway session kept across host restarts, in the encrypted state
 * database: its id, its resume address and the last event handled. A host
 * that comes back while Discord still holds the session resumes it, and
 * Discord replays what was sent meanwhile (its window is a few minutes;
 * later, the session is invalid and the bot identifies anew).
 *
 * @module
 */
import { nowTimestamp } from "../../../contract/time.ts";
import type { Database } from "../../../contract/sqlite/mod.ts";
import type { StateDb } from "../../state/mod.ts";

/** A session as kept. */
export interface SavedSession {
  sessionId: string;
  resumeURL: string;
  /** The last event handled. */
  sequence: number;
}

/** The kept gateway session of one channel. */
export class GatewaySessionStore {
  #db: Database;

  constructor(state: StateDb, readonly channel: string) {
    this.#db = state.db;
  }

  /** The kept session, if any. */
  load(): SavedSession | null {
    const row = this.#db.get(
      "SELECT session_id, resume_url, sequence FROM channel_gateway_sessions WHERE channel = ?",
      [this.channel],
    );
    return row
      ? {
        sessionId: row.session_id as string,
        resumeURL: row.resume_url as string,
        sequence: row.sequence as number,
      }
      : null;
  }

  /** Keeps `session` (null forgets it). */
  save(session: SavedSession | null): void {
    if (!session) {
      this.#db.run("DELETE FROM channel_gateway_sessions WHERE channel = ?", [this.channel]);
      return;
    }
    this.#db.run(
      `INSERT INTO channel_gateway_sessions (channel, session_id, resume_url, sequence, updated_at)
       VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (channel) DO UPDATE SET session_id = excluded.session_id, resume_url = excluded.resume_url,
         sequence = excluded.sequence, updated_at = excluded.updated_at`,
      [this.channel, session.sessionId, session.resumeURL, session.sequence, nowTimestamp()],
    );
  }
}
