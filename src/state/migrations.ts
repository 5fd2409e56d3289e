/**
 * The state database's schema as numbered, forward-only migrations. A file
 * records every migration applied in `schema_migrations`; opening applies the
 * missing ones in one transaction and refuses a file from a newer build.
 * Never edit a released migration: append a new one.
 *
 * @module
 */
import type { Database } from "../../contract/sqlite/mod.ts";
import { nowTimestamp } from "../../contract/time.ts";
import { StateSchemaError } from "./errors.ts";

/** One schema step. */
export interface Migration {
  /** 1, 2, 3, … with no gaps. */
  readonly version: number;
  /** A stable name, checked against the file so diverging builds are caught. */
  readonly name: string;
  /** DDL statements, `;`-terminated at line ends. */
  readonly sql: string;
}

/** Every migration this build knows, in order. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "registry and change store",
    sql: `
CREATE TABLE agent_groups (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  folder TEXT NOT NULL UNIQUE,
  provider TEXT,
  model TEXT,
  persona_identity TEXT NOT NULL DEFAULT '',
  persona_soul TEXT NOT NULL DEFAULT '',
  persona_instructions TEXT NOT NULL DEFAULT '',
  enabled_tools TEXT CHECK (enabled_tools IS NULL OR json_valid(enabled_tools)),
  packages TEXT NOT NULL DEFAULT '{"apt":[],"npm":[]}' CHECK (json_valid(packages)),
  mounts TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(mounts)),
  mcp_grants TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(mcp_grants)),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE messaging_groups (
  id TEXT PRIMARY KEY,
  channel_type TEXT NOT NULL,
  platform_id TEXT NOT NULL,
  instance TEXT NOT NULL,
  is_group INTEGER NOT NULL CHECK (is_group IN (0, 1)),
  unknown_sender_policy TEXT NOT NULL,
  UNIQUE (channel_type, platform_id, instance)
) STRICT;

CREATE TABLE wirings (
  id TEXT PRIMARY KEY,
  messaging_group_id TEXT NOT NULL REFERENCES messaging_groups(id) ON DELETE CASCADE,
  agent_group_id TEXT NOT NULL REFERENCES agent_groups(id) ON DELETE CASCADE,
  engage_mode TEXT NOT NULL,
  engage_pattern TEXT NOT NULL,
  sender_scope TEXT NOT NULL,
  ignored_message_policy TEXT NOT NULL,
  session_mode TEXT NOT NULL,
  priority INTEGER NOT NULL
) STRICT;
CREATE INDEX wirings_by_messaging_group ON wirings (messaging_group_id);

CREATE TABLE users (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  display_name TEXT
) STRICT;

CREATE TABLE roles (
  user_id TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('owner', 'admin')),
  scope TEXT NOT NULL,
  PRIMARY KEY (user_id, role, scope)
) STRICT;

CREATE TABLE members (
  user_id TEXT NOT NULL,
  agent_group_id TEXT NOT NULL REFERENCES agent_groups(id) ON DELETE CASCADE,
  PRIMARY KEY (user_id, agent_group_id)
) STRICT;

CREATE TABLE destinations (
  agent_group_id TEXT NOT NULL REFERENCES agent_groups(id) ON DELETE CASCADE,
  channel_type TEXT NOT NULL,
  platform_id TEXT NOT NULL,
  display_name TEXT,
  PRIMARY KEY (agent_group_id, channel_type, platform_id)
) STRICT;

CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  agent_group_id TEXT NOT NULL REFERENCES agent_groups(id) ON DELETE CASCADE,
  messaging_group_id TEXT NOT NULL REFERENCES messaging_groups(id) ON DELETE CASCADE,
  thread_id TEXT,
  session_mode TEXT NOT NULL,
  partition_key TEXT NOT NULL UNIQUE,
  container_status TEXT NOT NULL,
  last_active TEXT NOT NULL,
  created_at TEXT NOT NULL
) STRICT;
CREATE INDEX sessions_by_agent_group ON sessions (agent_group_id);

CREATE TABLE changes (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  agent_group_id TEXT NOT NULL,
  requested_by TEXT NOT NULL,
  before_json TEXT CHECK (before_json IS NULL OR json_valid(before_json)),
  after_json TEXT NOT NULL CHECK (json_valid(after_json)),
  created_at TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'applied')),
  verdict TEXT,
  reason TEXT,
  decision TEXT CHECK (decision IS NULL OR json_valid(decision)),
  applied_at TEXT
) STRICT;
CREATE INDEX changes_by_status ON changes (status, created_at, id);

CREATE TABLE applied_changes (
  change_id TEXT PRIMARY KEY REFERENCES changes(id),
  applied_at TEXT NOT NULL
) STRICT;
`,
  },
  {
    version: 2,
    name: "scheduled tasks and questions",
    sql: `
CREATE TABLE scheduled_tasks (
  id TEXT PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  prompt TEXT NOT NULL,
  next_run TEXT,
  recurrence TEXT,
  state TEXT NOT NULL CHECK (state IN ('active', 'paused', 'cancelled', 'done')),
  fired INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX scheduled_tasks_due ON scheduled_tasks (state, next_run);
CREATE INDEX scheduled_tasks_by_session ON scheduled_tasks (session_id, next_run, id);

CREATE TABLE questions (
  id TEXT PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  agent_group_id TEXT NOT NULL,
  question TEXT NOT NULL,
  options TEXT NOT NULL CHECK (json_valid(options)),
  allow_freeform INTEGER NOT NULL CHECK (allow_freeform IN (0, 1)),
  asked_at TEXT NOT NULL,
  answer TEXT,
  answered_by TEXT,
  answered_at TEXT
) STRICT;
CREATE INDEX questions_open ON questions (answered_at, asked_at, id);
`,
  },
  {
    version: 3,
    name: "chat channels",
    sql: `
CREATE TABLE channels (
  name TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  token_env TEXT NOT NULL,
  api_root TEXT,
  webhook_url TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE channel_cursors (
  channel TEXT PRIMARY KEY,
  cursor INTEGER NOT NULL,
  updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE channel_messages (
  channel TEXT NOT NULL,
  ref TEXT NOT NULL,
  part INTEGER NOT NULL,
  chat_id TEXT NOT NULL,
  platform_message_id TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (channel, ref, part)
) STRICT;
CREATE INDEX channel_messages_by_age ON channel_messages (created_at);

CREATE TABLE channel_questions (
  question_id TEXT PRIMARY KEY REFERENCES questions(id) ON DELETE CASCADE,
  channel TEXT NOT NULL,
  chat_id TEXT NOT NULL,
  platform_message_id TEXT NOT NULL,
  posted_at TEXT NOT NULL
) STRICT;
CREATE INDEX channel_questions_by_message ON channel_questions (channel, chat_id, platform_message_id);
`,
  },
  {
    version: 4,
    name: "web chat outbox",
    sql: `
CREATE TABLE web_chat_outbox (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  conversation_id TEXT NOT NULL,
  thread_id TEXT,
  content TEXT NOT NULL,
  timestamp TEXT NOT NULL,
  delivered_at TEXT NOT NULL,
  drained_at TEXT
) STRICT;
CREATE INDEX web_chat_outbox_waiting ON web_chat_outbox (conversation_id, drained_at, seq);
`,
  },
  {
    version: 5,
    name: "egress hosts and vault",
    sql: `
CREATE TABLE egress_hosts (
  agent_group_id TEXT NOT NULL REFERENCES agent_groups(id) ON DELETE CASCADE,
  host TEXT NOT NULL,
  change_id TEXT NOT NULL,
  PRIMARY KEY (agent_group_id, host)
) STRICT;
CREATE TABLE vault_secrets (
  name TEXT PRIMARY KEY,
  sealed BLOB NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
) STRICT;
CREATE TABLE vault_grants (
  name TEXT NOT NULL REFERENCES vault_secrets(name) ON DELETE CASCADE,
  agent_group_id TEXT NOT NULL REFERENCES agent_groups(id) ON DELETE CASCADE,
  host TEXT NOT NULL,
  header TEXT NOT NULL,
  format TEXT NOT NULL,
  change_id TEXT NOT NULL,
  PRIMARY KEY (agent_group_id, host, header)
) STRICT;
`,
  },
  {
    version: 6,
    name: "audit anchor",
    sql: `
CREATE TABLE audit_anchor (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  lines INTEGER NOT NULL,
  head TEXT NOT NULL
) STRICT;
`,
  },
  {
    version: 7,
    name: "change rationale",
    sql: `ALTER TABLE changes ADD COLUMN rationale TEXT;`,
  },
  {
    version: 8,
    name: "registry audit outbox",
    sql: `
CREATE TABLE registry_audit_outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  write TEXT NOT NULL CHECK (json_valid(write))
) STRICT;
`,
  },
  {
    version: 9,
    name: "model usage",
    // No foreign key: a group's spending history outlives the group.
    sql: `
CREATE TABLE model_usage (
  agent_group_id TEXT NOT NULL,
  day TEXT NOT NULL,
  model TEXT NOT NULL,
  calls INTEGER NOT NULL,
  input_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  cost_micro_usd INTEGER NOT NULL,
  PRIMARY KEY (agent_group_id, day, model)
) STRICT;
`,
  },
  {
    version: 10,
    name: "memory partition",
    // Groups that exist keep today's shared /memory; a new group's null follows its member count.
    sql: `
ALTER TABLE agent_groups ADD COLUMN memory_partition TEXT CHECK (memory_partition IN ('group', 'user', 'session'));
UPDATE agent_groups SET memory_partition = 'group';
ALTER TABLE sessions ADD COLUMN memory_user TEXT;
`,
  },
  {
    version: 11,
    name: "mcp catalog and pins",
    sql: `
CREATE TABLE mcp_servers (
  name TEXT PRIMARY KEY,
  config TEXT NOT NULL,
  change_id TEXT NOT NULL,
  registered_at TEXT NOT NULL
) STRICT;
CREATE TABLE mcp_offers (
  change_id TEXT PRIMARY KEY,
  server TEXT NOT NULL,
  tools TEXT NOT NULL
) STRICT;
CREATE TABLE mcp_pins (
  agent_group_id TEXT NOT NULL REFERENCES agent_groups(id) ON DELETE CASCADE,
  server TEXT NOT NULL,
  tool TEXT NOT NULL,
  hash TEXT NOT NULL,
  change_id TEXT NOT NULL,
  PRIMARY KEY (agent_group_id, server, tool)
) STRICT;
`,
  },
  {
    version: 12,
    name: "budgets",
    sql: `
CREATE TABLE budgets (
  agent_group_id TEXT PRIMARY KEY REFERENCES agent_groups(id) ON DELETE CASCADE,
  daily_tokens INTEGER,
  daily_micro_usd INTEGER,
  change_id TEXT NOT NULL
) STRICT;
`,
  },
  {
    version: 13,
    name: "channel secret variables",
    // A channel's other secrets (Slack's app token, its signing secret): variable NAMES by role, never values.
    sql: `
ALTER TABLE channels ADD COLUMN secret_envs TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(secret_envs));
`,
  },
  {
    version: 14,
    name: "channel gateway sessions",
    // A gateway session to resume after a restart (Discord's): its id, where to resume, the last event handled.
    sql: `
CREATE TABLE channel_gateway_sessions (
  channel TEXT PRIMARY KEY,
  session_id TEXT NOT NULL,
  resume_url TEXT NOT NULL,
  sequence INTEGER NOT NULL,
  updated_at TEXT NOT NULL
) STRICT;
`,
  },
];

/** The schema version this build writes. */
export const SCHEMA_VERSION: number = MIGRATIONS[MIGRATIONS.length - 1].version;

/**
 * Brings `db` up to {@link SCHEMA_VERSION} in one transaction and returns the
 * version. Throws {@link StateSchemaError} for a newer file or one whose
 * recorded migrations differ from ours; nothing is changed then.
 */
export function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): number {
  return db.transaction(() => {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      applied_at TEXT NOT NULL
    ) STRICT`);
    const applied = db.all<{ version: number; name: string }>(
      "SELECT version, name FROM schema_migrations ORDER BY version",
    );
    const known = migrations.length === 0 ? 0 : migrations[migrations.length - 1].version;
    for (const row of applied) {
      if (row.version > known) {
        throw new StateSchemaError(
          db.path,
          `schema version ${row.version} is newer than this build knows (${known}); upgrade IronClaw`,
        );
      }
      const ours = migrations.find((m) => m.version === row.version);
      if (ours?.name !== row.name) {
        throw new StateSchemaError(
          db.path,
          `migration ${row.version} is ${JSON.stringify(row.name)} in the file but ${
            JSON.stringify(ours?.name ?? null)
          } in this build`,
        );
      }
    }
    const current = applied.length === 0 ? 0 : applied[applied.length - 1].version;
    for (const migration of migrations) {
      if (migration.version <= current) continue;
      db.execScript(migration.sql);
      db.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", [
        migration.version,
        migration.name,
        nowTimestamp(),
      ]);
    }
    return known;
  });
}
