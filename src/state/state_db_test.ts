import assert from "node:assert/strict";
import { Database, SqliteError } from "../../contract/sqlite/mod.ts";
import { fileContains, fixedKey, LIBRARY, tempDir } from "../../tests/support/mod.ts";
import { openTestState, STATE_TEST_KEY } from "../../tests/support/state.ts";
import {
  migrate,
  MIGRATIONS,
  PRE_MIGRATION_DIR,
  SCHEMA_VERSION,
  STATE_DB_FILE,
  STATE_PRAGMAS,
  STATE_SCHEMA_FILE,
  StateSchemaError,
  WRITE_SOON_SYNC_MS,
} from "./mod.ts";

Deno.test("state db is created owner-only, in WAL mode, with full sync and foreign keys", () => {
  using dir = tempDir();
  using state = openTestState(dir.path);
  assert.equal(state.path, `${dir.path}/${STATE_DB_FILE}`);
  assert.equal(Deno.statSync(state.path).mode! & 0o777, 0o600);
  assert.equal(state.db.get("PRAGMA journal_mode")?.journal_mode, "wal");
  assert.equal(state.db.get("PRAGMA synchronous")?.synchronous, 2);
  assert.equal(state.db.get("PRAGMA foreign_keys")?.foreign_keys, 1);
  state.db.run("INSERT INTO users (id, kind) VALUES ('slack:ann', 'human')");
  assert.equal(Deno.statSync(`${state.path}-wal`).mode! & 0o777, 0o600);
});

Deno.test("state db tightens a loosened file mode on open", () => {
  using dir = tempDir();
  openTestState(dir.path).close();
  Deno.chmodSync(`${dir.path}/${STATE_DB_FILE}`, 0o644);
  openTestState(dir.path).close();
  assert.equal(Deno.statSync(`${dir.path}/${STATE_DB_FILE}`).mode! & 0o777, 0o600);
});

Deno.test("state db opened with the wrong key fails at open", () => {
  using dir = tempDir();
  openTestState(dir.path).close();
  assert.throws(
    () => openTestState(dir.path, fixedKey(0x22)),
    (err) => err instanceof SqliteError && err.kind === "wrong_key",
  );
});

Deno.test("state db holds no plaintext, open or closed", () => {
  using dir = tempDir();
  const marker = "PLAINTEXT_MARKER_7f3a";
  const path = `${dir.path}/${STATE_DB_FILE}`;
  const state = openTestState(dir.path);
  state.db.run("INSERT INTO users (id, kind, display_name) VALUES (?, 'human', ?)", [
    `slack:${marker}`,
    marker,
  ]);
  for (const file of [path, `${path}-wal`]) assert.equal(fileContains(file, marker), false, file);
  state.close();
  assert.equal(fileContains(path, marker), false);
  using again = openTestState(dir.path);
  assert.equal(again.db.get("SELECT display_name FROM users")?.display_name, marker);
});

Deno.test("state db migrations are applied once, however often it is opened", () => {
  using dir = tempDir();
  openTestState(dir.path).close();
  using state = openTestState(dir.path);
  assert.equal(state.schemaVersion, SCHEMA_VERSION);
  const versions = state.db.all("SELECT version FROM schema_migrations ORDER BY version").map((r) =>
    r.version
  );
  assert.deepEqual(versions, Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
});

Deno.test("state db records its schema version in plain text beside it, for installers that hold no key", () => {
  using dir = tempDir();
  openTestState(dir.path).close();
  assert.equal(Deno.readTextFileSync(`${dir.path}/${STATE_SCHEMA_FILE}`), `${SCHEMA_VERSION}\n`);
  assert.equal(Deno.statSync(`${dir.path}/${STATE_SCHEMA_FILE}`).mode! & 0o777, 0o600);
});

Deno.test("state db from a newer build is refused and left as it was", () => {
  using dir = tempDir();
  const state = openTestState(dir.path);
  state.db.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from the future', ?)", [
    SCHEMA_VERSION + 1,
    "2030-01-01T00:00:00.000Z",
  ]);
  state.close();
  assert.throws(
    () => openTestState(dir.path),
    (err) => err instanceof StateSchemaError && /newer/.test(err.message),
  );
  assert.throws(() => openTestState(dir.path), StateSchemaError);
});

Deno.test("an upgrade's migrations run only after a copy of the database as it was is kept (encrypted, owner-only)", () => {
  using dir = tempDir();
  const path = `${dir.path}/${STATE_DB_FILE}`;
  // A database an older release wrote: the first five migrations, and a row.
  Deno.writeFileSync(path, new Uint8Array(), { mode: 0o600 });
  const old = Database.open(path, { library: LIBRARY, key: STATE_TEST_KEY, pragmas: STATE_PRAGMAS });
  migrate(old, MIGRATIONS.slice(0, 5));
  old.run("INSERT INTO users (id, kind) VALUES ('slack:ann', 'human')");
  old.close();

  openTestState(dir.path).close();
  const copy = `${dir.path}/${PRE_MIGRATION_DIR}/state-v5.db`;
  assert.equal(Deno.statSync(copy).mode! & 0o777, 0o600);
  assert.ok(!fileContains(copy, "slack:ann"), "still encrypted");
  using kept = Database.open(copy, { library: LIBRARY, key: STATE_TEST_KEY });
  assert.equal(kept.get("SELECT max(version) AS v FROM schema_migrations")?.v, 5);
  assert.equal(kept.get("SELECT id FROM users")?.id, "slack:ann");

  // Current already, or new: nothing more is copied.
  openTestState(dir.path).close();
  using fresh = tempDir();
  openTestState(fresh.path).close();
  assert.deepEqual([...Deno.readDirSync(`${dir.path}/${PRE_MIGRATION_DIR}`)].map((e) => e.name), [
    "state-v5.db",
  ]);
  assert.throws(() => Deno.statSync(`${fresh.path}/${PRE_MIGRATION_DIR}`), Deno.errors.NotFound);
});

Deno.test("state db: a writeSoon commit is read at once and on disk with the next FULL commit, sync or timer", async () => {
  using dir = tempDir();
  using state = openTestState(dir.path);
  const insert = (id: string) => state.db.run("INSERT INTO users (id, kind) VALUES (?, 'human')", [id]);
  state.writeSoon(() => insert("slack:a"));
  state.writeSoon(() => insert("slack:b"));
  assert.equal(state.unsynced, 2);
  assert.equal(state.db.get("SELECT count(*) AS n FROM users")?.n, 2);
  assert.equal(state.db.get("PRAGMA synchronous")?.synchronous, 2, "every other commit is FULL again");
  state.commit(() => insert("slack:c"));
  assert.equal(state.unsynced, 0, "the FULL commit's fsync covered them");
  assert.throws(() =>
    state.writeSoon(() => {
      insert("slack:d");
      throw new Error("refused");
    }), /refused/);
  assert.equal(state.unsynced, 0, "a rolled-back write waits for nothing");
  state.writeSoon(() => insert("slack:e"));
  state.sync();
  assert.equal(state.unsynced, 0);
  state.writeSoon(() => insert("slack:f"));
  await new Promise((resolve) => setTimeout(resolve, WRITE_SOON_SYNC_MS + 50));
  assert.equal(state.unsynced, 0, "the timer synced it");
  assert.equal(state.db.get("SELECT count(*) AS n FROM users")?.n, 5);
});
