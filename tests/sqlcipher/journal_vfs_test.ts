/**
 * The journal-append shim (`scripts/sqlcipher/journal_vfs.c`, the library's default VFS): one
 * write for a transaction's journal records instead of three per page, in the
 * order synchronous = FULL requires (records synced before the header names
 * them, the journal synced before any database write). The writes are those
 * of a real writer process, traced by strace.
 */
import assert from "node:assert/strict";
import { tempDir } from "../support/mod.ts";
import { createJournalTestDb, openJournalTestDb, rowBody } from "../faults/journal_writer.ts";

const WRITER = new URL("../faults/journal_writer.ts", import.meta.url).pathname;
const COMMITS = 30;

interface FileWrites {
  /** pwrite64 calls on the journal and on the database file. */
  journalWrites: number;
  dbWrites: number;
  /** Order violations found, each described. */
  violations: string[];
}

/**
 * Replays a strace of one writer (openat, close, pwrite64, fsync, ftruncate)
 * and checks the rollback journal's ordering rules of synchronous = FULL:
 * no database write while a journal write is unsynced, and the header's
 * record count (a write at offset 0 once records follow it) written only when
 * the records before it are synced.
 */
function replay(trace: string, path: string): FileWrites {
  const journalPath = `${path}-journal`;
  const kind = new Map<number, "db" | "journal">();
  const result: FileWrites = { journalWrites: 0, dbWrites: 0, violations: [] };
  let journalDirty = false;
  let journalEnd = 0;
  for (const line of trace.split("\n")) {
    const call = /^(?:\d+\s+)?(\w+)\((.*)\)\s+=\s+(-?\d+)/.exec(line);
    if (!call) continue;
    const [, name, args, ret] = call;
    const fd = Number(args.split(",")[0]);
    if (name === "openat") {
      const opened = /"([^"]+)"/.exec(args)?.[1];
      if (opened === path) kind.set(Number(ret), "db");
      if (opened === journalPath) kind.set(Number(ret), "journal");
    } else if (name === "close") {
      kind.delete(fd);
    } else if (name === "pwrite64" && kind.get(fd) === "journal") {
      result.journalWrites++;
      const [length, offset] = args.split(",").slice(-2).map(Number);
      if (offset === 0 && length < 512 && journalEnd > 512 && journalDirty) {
        result.violations.push(
          `the header's record count was written before the records were synced: ${line}`,
        );
      }
      journalEnd = Math.max(journalEnd, offset + length);
      journalDirty = true;
    } else if (name === "pwrite64" && kind.get(fd) === "db") {
      result.dbWrites++;
      if (journalDirty) {
        result.violations.push(`a database write while the journal had unsynced writes: ${line}`);
      }
    } else if ((name === "fsync" || name === "fdatasync") && kind.get(fd) === "journal") {
      journalDirty = false;
    } else if (name === "ftruncate" && kind.get(fd) === "journal") {
      journalEnd = 0;
    }
  }
  return result;
}

function strace(args: string[]): string {
  const probe = new Deno.Command("strace", { args: ["-V"], stdout: "null", stderr: "null" });
  try {
    probe.outputSync();
  } catch {
    throw new Error("strace is missing: install it with 'apt-get install strace'");
  }
  using dir = tempDir();
  const out = `${dir.path}/trace`;
  const run = new Deno.Command("strace", {
    args: [
      "-f",
      "-s",
      "0",
      "-o",
      out,
      "-e",
      "trace=openat,close,pwrite64,fsync,fdatasync,ftruncate",
      ...args,
    ],
    stdout: "null",
    stderr: "piped",
  }).outputSync();
  assert.ok(run.success, new TextDecoder().decode(run.stderr));
  return Deno.readTextFileSync(out);
}

for (const discipline of ["delete", "private"]) {
  Deno.test(`journal writes (${discipline}): two journal writes a commit, synced before the header names them and before any database write`, () => {
    using dir = tempDir();
    const path = `${dir.path}/writes.db`;
    createJournalTestDb(path);
    const trace = strace([
      Deno.execPath(),
      "run",
      "-A",
      WRITER,
      path,
      discipline,
      "commits",
      String(COMMITS),
    ]);
    const { journalWrites, dbWrites, violations } = replay(trace, path);
    assert.deepEqual(violations, []);
    // A third of the commits follow a rolled-back transaction, whose records are written once too.
    const rolledBack = Math.floor(COMMITS / 3);
    assert.ok(
      journalWrites <= 2 * COMMITS + rolledBack,
      `${journalWrites} journal writes for ${COMMITS} commits (without the shim: three per journaled page, ~${
        3 * dbWrites
      })`,
    );
    assert.ok(dbWrites >= 2 * COMMITS, `${dbWrites} database writes: every commit wrote its pages`);
    using db = openJournalTestDb(path, discipline);
    assert.equal(Number(db.get("SELECT n FROM counter")?.n), COMMITS);
  });
}

Deno.test("journal writes: a transaction journaling far more than one buffer (128 KiB, unix's largest write) commits and rolls back", () => {
  using dir = tempDir();
  const path = `${dir.path}/big.db`;
  createJournalTestDb(path);
  using db = openJournalTestDb(path, "delete");
  db.transaction(() => {
    for (let id = 1; id <= 200; id++) {
      db.run("INSERT INTO rows (id, version, body) VALUES (?, 0, ?)", [id, rowBody(id, 0)]);
    }
  });
  // Rewriting every row journals every page the rows fill (~200 pages, ~800 KiB of journal).
  db.run("UPDATE rows SET version = 1, body = ?1 || body", ["v1"]);
  assert.throws(() =>
    db.transaction(() => {
      db.run("UPDATE rows SET version = 2, body = ?1 || body", ["v2"]);
      throw new Error("rolled back on purpose");
    })
  );
  assert.equal(db.get("PRAGMA integrity_check")?.integrity_check, "ok");
  assert.deepEqual(db.get("SELECT count(*) AS n, min(version) AS lo, max(version) AS hi FROM rows"), {
    n: 200,
    lo: 1,
    hi: 1,
  });
});
