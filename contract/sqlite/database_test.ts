import assert from "node:assert/strict";
import { Database, SqliteError } from "./mod.ts";
import { fixedKey, LIBRARY, tempDir } from "../../tests/support/mod.ts";

Deno.test("binding and decoding of every storage class", () => {
  using db = Database.open(":memory:", { library: LIBRARY, create: true });
  db.exec("CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n)");
  db.exec("INSERT INTO t VALUES (?, ?, ?, ?, ?)", [
    42,
    1.25,
    "héllo\u0000wörld",
    new Uint8Array([0, 1, 255]),
    null,
  ]);
  db.exec("INSERT INTO t VALUES (:i, :r, :s, :b, :n)", {
    i: 9007199254740993n,
    r: -0.5,
    s: "",
    b: new Uint8Array(0),
    n: undefined,
  });
  db.exec("INSERT INTO t (i) VALUES (?)", [true]);
  const rows = db.all("SELECT * FROM t");
  assert.deepEqual(rows[0], {
    i: 42,
    r: 1.25,
    s: "héllo\u0000wörld",
    b: new Uint8Array([0, 1, 255]),
    n: null,
  });
  assert.deepEqual(rows[1], { i: 9007199254740993n, r: -0.5, s: "", b: new Uint8Array(0), n: null });
  assert.equal(rows[2].i, 1);
});

Deno.test("errors are typed and name the statement", () => {
  using db = Database.open(":memory:", { library: LIBRARY, create: true });
  db.exec("CREATE TABLE t (id TEXT PRIMARY KEY)");
  db.exec("INSERT INTO t VALUES ('a')");
  assert.throws(
    () => db.exec("INSERT INTO t VALUES ('a')"),
    (e: unknown) => e instanceof SqliteError && e.kind === "constraint",
  );
  assert.throws(
    () => db.exec("SELEC 1"),
    (e: unknown) => e instanceof SqliteError && /SELEC 1/.test(e.message),
  );
  assert.throws(
    () => db.exec("SELECT ?", []),
    (e: unknown) => e instanceof SqliteError && e.kind === "misuse",
  );
  assert.throws(() => db.exec("SELECT :a", { b: 1 }), /no parameter :b/);
  assert.throws(() => Database.open(":memory:", { library: LIBRARY, key: new Uint8Array(16) }), /32 bytes/);
});

Deno.test("a missing file or library is a clear error", () => {
  assert.throws(
    () => Database.open("/nonexistent/dir/x.db", { library: LIBRARY }),
    (e: unknown) => e instanceof SqliteError && e.kind === "cant_open",
  );
  assert.throws(
    () => Database.open(":memory:", { library: "/nonexistent/libsqlcipher.so" }),
    /deno task setup/,
  );
});

Deno.test("transactions commit on return and roll back on throw", () => {
  using db = Database.open(":memory:", { library: LIBRARY, create: true });
  db.exec("CREATE TABLE t (x)");
  db.transaction(() => db.exec("INSERT INTO t VALUES (1)"));
  assert.throws(() =>
    db.transaction(() => {
      db.exec("INSERT INTO t VALUES (2)");
      throw new Error("boom");
    }), /boom/);
  assert.deepEqual(db.all("SELECT x FROM t"), [{ x: 1 }]);
  assert.equal(db.inTransaction, false);
});

Deno.test("closing finalizes every statement; use after close is a clear error", () => {
  const db = Database.open(":memory:", { library: LIBRARY, create: true });
  const stmt = db.prepare("SELECT 1 AS one");
  db.get("SELECT 2");
  db.close();
  assert.equal(stmt.finalized, true);
  assert.throws(() => stmt.get(), /finalized/);
  assert.throws(() => db.get("SELECT 1"), /closed/);
  db.close();
});

Deno.test("SQLCipher 4 defaults are in force and the build is the pinned one", () => {
  using dir = tempDir();
  using db = Database.open(`${dir.path}/c.db`, { library: LIBRARY, key: fixedKey(0x11), create: true });
  db.exec("CREATE TABLE t (x)");
  const pragma = (name: string) => Object.values(db.get(`PRAGMA ${name}`) ?? {})[0];
  assert.equal(pragma("cipher_version"), "4.5.5 community");
  assert.equal(Number(pragma("cipher_page_size")), 4096);
  assert.equal(pragma("cipher_hmac_algorithm"), "HMAC_SHA512");
  assert.equal(pragma("cipher_kdf_algorithm"), "PBKDF2_HMAC_SHA512");
  assert.equal(pragma("cipher_provider"), "openssl");
  assert.equal(pragma("temp_store"), 0); // default, which SQLITE_TEMP_STORE=2 maps to memory
  db.exec("CREATE VIRTUAL TABLE f USING fts5(body)");
});
