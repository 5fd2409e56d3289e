/**
 * kill -9 of a SQLite writer process at random points, under both journal
 * disciplines (the host's DELETE writers and the agent's TRUNCATE + EXCLUSIVE
 * outbound writer), with the library's journal-append shim
 * (`scripts/sqlcipher/journal_vfs.c`) merging each transaction's journal
 * records into one write. After every kill the file must reopen intact with
 * every commit the writer reported, atomically, and nothing it rolled back or
 * had not committed; a transaction killed after its pages reached the file
 * must be rolled back from its journal.
 */
import assert from "node:assert/strict";
import { tempDir } from "../support/mod.ts";
import { createJournalTestDb, openJournalTestDb, rowBody } from "./journal_writer.ts";

const WRITER = new URL("./journal_writer.ts", import.meta.url).pathname;
const KILLS_PER_DISCIPLINE = 12;

interface Writer {
  /** Resolves with the line once the writer printed it; rejects if it exits first. */
  line(predicate: (line: string) => boolean): Promise<string>;
  /** The last commit number the writer reported. */
  lastReported(): number;
  kill9(): Promise<void>;
}

function startWriter(path: string, discipline: string, task: string): Writer {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", WRITER, path, discipline, task],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let pending = "";
  let last = 0;
  const line = async (predicate: (line: string) => boolean): Promise<string> => {
    for (;;) {
      const newline = pending.indexOf("\n");
      if (newline >= 0) {
        const next = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (/^\d+$/.test(next)) last = Number(next);
        if (predicate(next)) return next;
        continue;
      }
      const { value, done } = await lines.read();
      if (done) throw new Error(`the writer exited before printing the line awaited (last commit ${last})`);
      pending += value;
    }
  };
  return {
    line,
    lastReported: () => last,
    kill9: async () => {
      child.kill("SIGKILL");
      await child.status;
      // What it printed before dying counts too: a reported commit had returned.
      try {
        while (await line(() => false));
      } catch { /* drained */ }
      await lines.cancel().catch(() => {});
    },
  };
}

/** Checks the file after a crash; returns its commit counter. */
function verifyAfterCrash(path: string, discipline: string, reported: number): number {
  using db = openJournalTestDb(path, discipline);
  assert.equal(db.get("PRAGMA integrity_check")?.integrity_check, "ok");
  const n = Number(db.get("SELECT n FROM counter")?.n);
  assert.ok(n >= reported, `commit ${reported} was reported but the file holds only ${n}`);
  assert.ok(n <= reported + 1, `the file holds ${n}, beyond the one commit that can have been in flight`);
  const rows = db.all("SELECT id, version, body FROM rows WHERE id < 1000000 ORDER BY id");
  assert.deepEqual(
    rows.map((r) => Number(r.id)),
    Array.from({ length: n }, (_, i) => i + 1),
    "rows 1..n, none rolled back",
  );
  for (const row of rows) {
    // A row's body names the commit that last rewrote it (0: none since its insert).
    const id = Number(row.id);
    const by = Number(/^-?\d+\.(\d+);/.exec(String(row.body))?.[1]);
    assert.equal(row.body, rowBody(id, by), `row ${id}: a whole body`);
    assert.equal(by === 0, Number(row.version) === 0, `row ${id}: its version and body agree`);
    if (by > 0) {
      assert.ok(by > id && by <= n, `row ${id} rewritten by commit ${by}, not one of ${id + 1}..${n}`);
    }
  }
  return n;
}

for (const discipline of ["delete", "private"]) {
  Deno.test(`journal crash (${discipline}): ${KILLS_PER_DISCIPLINE} kill -9s at random points lose no reported commit and keep no rolled-back one`, async () => {
    using dir = tempDir();
    const path = `${dir.path}/crash.db`;
    createJournalTestDb(path);
    let n = 0;
    for (let kill = 0; kill < KILLS_PER_DISCIPLINE; kill++) {
      const writer = startWriter(path, discipline, "commits");
      const target = n + 1 + Math.floor(Math.random() * 20);
      await writer.line((line) => Number(line) >= target);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 4));
      await writer.kill9();
      n = verifyAfterCrash(path, discipline, writer.lastReported());
    }
    assert.ok(n >= KILLS_PER_DISCIPLINE, `${n} commits over ${KILLS_PER_DISCIPLINE} runs`);
  });

  Deno.test(`journal crash (${discipline}): a writer killed after its pages reached the file leaves a hot journal that rolls back`, async () => {
    using dir = tempDir();
    const path = `${dir.path}/hot.db`;
    createJournalTestDb(path);
    const before = Deno.readFileSync(path);
    const writer = startWriter(path, discipline, "spill");
    await writer.line((line) => line === "spilled");
    await writer.kill9();
    const journal = Deno.readFileSync(`${path}-journal`);
    assert.ok(journal.length > 512, "the journal holds records");
    const after = Deno.readFileSync(path);
    assert.ok(
      after.length > before.length || after.some((byte, i) => byte !== before[i]),
      "pages were written to the file",
    );
    assert.equal(verifyAfterCrash(path, discipline, 0), 0);
    using db = openJournalTestDb(path, discipline);
    assert.equal(db.get("SELECT count(*) AS c FROM rows")?.c, 0, "the killed transaction's rows are gone");
  });
}
