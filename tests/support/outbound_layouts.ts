/**
 * `outbound.db`'s layout before 2026-12-07, as every session file made until
 * then has it (`messages_out` keyed by `id` with a unique `seq`, a rowid
 * `processing_ack`): the tests show such files are still served.
 *
 * @module
 */
import type { Database } from "../../contract/sqlite/mod.ts";

/** The outbound schema before 2026-12-07, word for word. */
export const EARLIER_OUTBOUND_SCHEMA = `
CREATE TABLE IF NOT EXISTS messages_out (
  id TEXT PRIMARY KEY,
  seq INTEGER NOT NULL UNIQUE,
  in_reply_to TEXT,
  timestamp TEXT NOT NULL,
  deliver_after TEXT,
  recurrence TEXT,
  kind TEXT NOT NULL,
  platform_id TEXT,
  channel_type TEXT,
  thread_id TEXT,
  content TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS processing_ack (
  message_id TEXT PRIMARY KEY,
  status TEXT NOT NULL,
  status_changed TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS session_state (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
`;

/** Gives an empty, freshly provisioned outbound file the earlier layout. */
export function useEarlierOutboundLayout(db: Database): void {
  db.transaction(() => {
    db.execScript("DROP TABLE messages_out;\nDROP TABLE processing_ack;\nDROP TABLE session_state;");
    db.execScript(EARLIER_OUTBOUND_SCHEMA);
  });
}
