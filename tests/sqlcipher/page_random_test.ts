/**
 * SQLCipher's page IVs come from a pool of OpenSSL's DRBG output
 * (`scripts/sqlcipher/rand_pool.c`), not one `RAND_bytes` call (and one
 * `getpid` fork check) a page: every page write still gets a fresh IV, a
 * forked child never repeats its parent's bytes, and writing pages no longer
 * costs a syscall each.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Database } from "../../contract/sqlite/mod.ts";
import { fixedKey, LIBRARY, tempDir } from "../support/mod.ts";

const PAGE = 4096;
/** SQLCipher 4's per-page reserve: 16-byte IV, then the 64-byte HMAC-SHA512. */
const RESERVE = 80;
const IV = 16;

function pageIvs(path: string): string[] {
  const file = Deno.readFileSync(path);
  const ivs: string[] = [];
  for (let page = 0; page < file.length / PAGE; page++) {
    const at = (page + 1) * PAGE - RESERVE;
    ivs.push(Array.from(file.subarray(at, at + IV), (b) => b.toString(16).padStart(2, "0")).join(""));
  }
  return ivs;
}

function pageBytes(path: string, page: number): Uint8Array {
  return Deno.readFileSync(path).slice((page - 1) * PAGE, page * PAGE);
}

Deno.test("the same page written twice is encrypted under a fresh IV, and reads back", () => {
  using dir = tempDir();
  const path = `${dir.path}/p.db`;
  const seen = new Set<string>();
  const snapshots: Uint8Array[] = [];
  {
    using db = Database.open(path, { library: LIBRARY, key: fixedKey(0x11), create: true });
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    for (let write = 0; write < 20; write++) {
      // Page 2 alternates between two plaintexts (SQLite skips a write that changes nothing).
      db.exec("INSERT OR REPLACE INTO t VALUES (1, ?)", [write % 2 ? "other text" : "plaintext!"]);
      if (write % 2 === 0) snapshots.push(pageBytes(path, 2));
      for (const iv of pageIvs(path).slice(1)) {
        assert.ok(!seen.has(iv), `IV ${iv} served twice`);
        seen.add(iv);
      }
    }
  }
  assert.equal(seen.size, 20);
  assert.equal(new Set(snapshots.map((page) => page.join())).size, snapshots.length);
  using again = Database.open(path, { library: LIBRARY, key: fixedKey(0x11) });
  assert.deepEqual(again.all("SELECT * FROM t"), [{ id: 1, v: "other text" }]);
});

Deno.test("a forked or raw-cloned child never serves its parent's pool", async () => {
  using dir = tempDir();
  const checker = `${dir.path}/rand_fork_check`;
  const source = new URL("./rand_fork_check.c", import.meta.url).pathname;
  const gcc = await new Deno.Command("gcc", { args: ["-O2", "-o", checker, source, "-ldl"], stderr: "piped" })
    .output();
  assert.ok(gcc.success, new TextDecoder().decode(gcc.stderr));
  const run = await new Deno.Command(checker, { args: [LIBRARY], stdout: "piped", stderr: "piped" }).output();
  assert.ok(run.success, new TextDecoder().decode(run.stderr));
  const lines = new TextDecoder().decode(run.stdout).trim().split("\n").map((line) => line.split(" "));
  assert.deepEqual(lines.map(([how]) => how), ["fork", "clone"]);
  for (const [how, parent, child] of lines) {
    assert.match(parent, /^[0-9a-f]{128}$/);
    assert.notEqual(child, parent, `${how}: the child repeated the parent's next bytes`);
    assert.notEqual(child, "0".repeat(128), `${how}: the child drew zeros`);
  }
});

/** getpid calls made by a Deno process that writes `transactions` x 60 pages of blobs. */
async function getpidCalls(transactions: number, dir: string): Promise<{ calls: number; pages: number }> {
  const database = new URL("../../contract/sqlite/mod.ts", import.meta.url).href;
  const code = `
    import { Database } from ${JSON.stringify(database)};
    using db = Database.open(${JSON.stringify(`${dir}/w${transactions}.db`)},
      { library: ${JSON.stringify(LIBRARY)}, key: new Uint8Array(32).fill(0x11), create: true });
    db.exec("CREATE TABLE t (b BLOB)");
    for (let i = 0; i < ${transactions}; i++) {
      db.transaction(() => { for (let j = 0; j < 60; j++) db.exec("INSERT INTO t VALUES (?)", [new Uint8Array(3000)]); });
    }
    console.log(db.get("PRAGMA page_count").page_count);`;
  const trace = `${dir}/strace${transactions}.txt`;
  const run = await new Deno.Command("strace", {
    args: ["-f", "-qq", "-e", "trace=getpid", "-o", trace, Deno.execPath(), "eval", "--no-check", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(run.success, new TextDecoder().decode(run.stderr));
  const calls = Deno.readTextFileSync(trace).split("\n").filter((line) => line.includes("getpid(")).length;
  return { calls, pages: Number(new TextDecoder().decode(run.stdout).trim()) };
}

Deno.test("writing encrypted pages costs far fewer getpid calls than pages (strace)", async () => {
  using dir = tempDir();
  const idle = await getpidCalls(0, dir.path);
  const busy = await getpidCalls(4, dir.path);
  assert.ok(busy.pages >= 240, `only ${busy.pages} pages written`);
  // One RAND_bytes call per page would add >= 2 x 240 (database and journal copies);
  // the pool adds one per journal open and one per ~200 pages.
  const added = busy.calls - idle.calls;
  assert.ok(added < busy.pages / 10, `${added} getpid calls for ${busy.pages} pages`);
});
