/**
 * The SQL schema of the two per-session queue files. The host provisions
 * both; neither side ever alters them.
 *
 * @module
 */

/** `inbound.db`: the host is its only writer; the sandbox opens it read-only. */
export const INBOUND_SCHEMA = `
CREATE TABLE IF NOT EXISTS messages_in (
  id TEXT PRIMARY KEY,
  seq INTEGER NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  timestamp TEXT NOT NULL,
  status TEXT NOT NULL,
  process_after TEXT,
  recurrence TEXT,
  series_id TEXT,
  tries INTEGER NOT NULL DEFAULT 0,
  "trigger" INTEGER NOT NULL DEFAULT 1,
  platform_id TEXT,
  channel_type TEXT,
  thread_id TEXT,
  content TEXT NOT NULL,
  source_session_id TEXT,
  on_wake INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS messages_in_status_seq ON messages_in (status, seq);
CREATE TABLE IF NOT EXISTS destinations (
  name TEXT PRIMARY KEY,
  display_name TEXT,
  type TEXT NOT NULL,
  channel_type TEXT,
  platform_id TEXT,
  agent_group_id TEXT
);
CREATE TABLE IF NOT EXISTS session_routing (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  channel_type TEXT NOT NULL,
  platform_id TEXT NOT NULL,
  thread_id TEXT
);
CREATE TABLE IF NOT EXISTS tasks (
  id TEXT PRIMARY KEY,
  prompt TEXT NOT NULL,
  next_run TEXT,
  recurrence TEXT,
  state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS delivered (
  message_out_id TEXT PRIMARY KEY,
  platform_message_id TEXT,
  status TEXT NOT NULL,
  delivered_at TEXT NOT NULL
);
`;

/**
 * `outbound.db`: the sandbox is its only writer; the host opens it read-only.
 *
 * Laid out for few pages per agent commit (each page a commit writes is
 * journaled, encrypted and written again under gVisor's ptrace): a reply row
 * goes into one b-tree, keyed by its seq (the rowid), and an acknowledgement
 * into one (`WITHOUT ROWID`, keyed by the message id). Files made before
 * 2026-12-07 have `messages_out (id TEXT PRIMARY KEY, seq INTEGER NOT NULL
 * UNIQUE)` and a rowid `processing_ack`; every statement on either side
 * reads and writes both layouts alike, so neither side migrates them.
 */
export const OUTBOUND_SCHEMA = `
CREATE TABLE IF NOT EXISTS messages_out (
  id TEXT NOT NULL,
  seq INTEGER PRIMARY KEY,
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
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS session_state (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
`;

/**
 * File names inside a session's queue directories: the two queues, and the
 * agent's heartbeat (the time of its last poll, written beside its outbound
 * queue so that the host's bookkeeping stays out of the user's workspace).
 */
export const QUEUE_FILES = {
  inbound: "inbound.db",
  outbound: "outbound.db",
  heartbeat: "heartbeat",
} as const;
