import assert from "node:assert/strict";
import { Database } from "../../contract/sqlite/mod.ts";
import { LIBRARY } from "../../tests/support/mod.ts";
import { migrate, type Migration, MIGRATIONS, SCHEMA_VERSION, StateSchemaError } from "./mod.ts";

const first: Migration = { version: 1, name: "first", sql: "CREATE TABLE a (x INTEGER);" };
const second: Migration = { version: 2, name: "second", sql: "CREATE TABLE b (y INTEGER);" };

function memory(): Database {
  return Database.open(":memory:", { library: LIBRARY, create: true });
}

Deno.test("migrations are numbered 1..n without gaps", () => {
  assert.deepEqual(MIGRATIONS.map((m) => m.version), Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
});

Deno.test("migrate applies only the migrations a file lacks", () => {
  using db = memory();
  assert.equal(migrate(db, [first]), 1);
  // Re-running `first` would fail: table a already exists.
  assert.equal(migrate(db, [first, second]), 2);
  assert.equal(migrate(db, [first, second]), 2);
  assert.equal(db.all("SELECT name FROM sqlite_master WHERE name IN ('a', 'b')").length, 2);
});

Deno.test("a failing migration leaves the file untouched", () => {
  using db = memory();
  migrate(db, [first]);
  const broken: Migration = { version: 2, name: "broken", sql: "CREATE TABLE c (z INTEGER);\nNOT SQL;" };
  assert.throws(() => migrate(db, [first, broken]));
  assert.equal(db.get("SELECT max(version) AS v FROM schema_migrations")?.v, 1);
  assert.equal(db.get("SELECT name FROM sqlite_master WHERE name = 'c'"), undefined);
});

Deno.test("migrate refuses a file whose recorded migrations differ from the build's", () => {
  using db = memory();
  migrate(db, [first]);
  assert.throws(
    () => migrate(db, [{ ...first, name: "renamed" }]),
    (err) => err instanceof StateSchemaError && /migration 1/.test(err.message),
  );
});

Deno.test("memory partition migration: a group that existed keeps its shared memory; a new one follows the default", () => {
  using db = memory();
  const before = MIGRATIONS.findIndex((m) => m.name === "memory partition");
  migrate(db, MIGRATIONS.slice(0, before));
  const group = (id: string) =>
    db.run(
      `INSERT INTO agent_groups (id, name, folder, persona_identity, persona_soul, persona_instructions, created_at,
         updated_at) VALUES (?, ?, ?, '', '', '', 'now', 'now')`,
      [id, id, id],
    );
  group("old");
  migrate(db, MIGRATIONS);
  group("new");
  assert.deepEqual(
    db.all("SELECT id, memory_partition FROM agent_groups ORDER BY id"),
    [{ id: "new", memory_partition: null }, { id: "old", memory_partition: "group" }],
  );
});
