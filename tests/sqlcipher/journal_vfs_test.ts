/**
 * The write-merging shim (`scripts/sqlcipher/journal_vfs.c`, the library's
 * default VFS): one write for a transaction's journal records instead of
 * three per page, one for adjacent database pages, in the order synchronous =
 * FULL requires (records synced before the header names them, the journal
 * synced before any database write, the database synced before the journal is
 * let go). The writes are those of a real writer process, traced by strace.
 */
import assert from "node:assert/strict";
import { tempDir } from "../support/mod.ts";
import { createJournalTestDb, openJournalTestDb, rowBody } from "../faults/journal_writer.ts";

const WRITER = new URL("../faults/journal_writer.ts", import.meta.url).pathname;
const COMMITS = 30;

interface Replay {
  /** pwrite64 calls on the journal and on the database file, pages written to the database, preads of the journal. */
  journalWrites: number;
  dbWrites: number;
  dbPages: number;
  journalReads: number;
  /** Order violations found, each described. */
  violations: string[];
}

/**
 * Replays a strace of one writer (openat, close, pwrite64, pread64, fsync,
 * ftruncate, unlink) and checks the rollback journal's ordering rules of
 * synchronous = FULL: no database write while a journal write is unsynced;
 * the header's record count (a write at offset 0 once records follow it)
 * written only when the records before it are synced; the commit point (the
 * journal truncated or deleted) only once the database writes are synced.
 */
function replay(trace: string, path: string): Replay {
  const journalPath = `${path}-journal`;
  const kind = new Map<number, "db" | "journal">();
  const result: Replay = { journalWrites: 0, dbWrites: 0, dbPages: 0, journalReads: 0, violations: [] };
  let journalDirty = false;
  let dbDirty = false;
  let journalEnd = 0;
  const commitPoint = (line: string) => {
    if (dbDirty) {
      result.violations.push(`the journal was let go before the database writes were synced: ${line}`);
    }
    journalEnd = 0;
  };
  for (const line of trace.split("\n")) {
    const call = /^(?:\d+\s+)?(\w+)\((.*)\)\s+=\s+(-?\d+)/.exec(line);
    if (!call) continue;
    const [, name, args, ret] = call;
    const fd = Number(args.split(",")[0]);
    const [length, offset] = args.split(",").slice(-2).map(Number);
    if (name === "openat") {
      const opened = /"([^"]+)"/.exec(args)?.[1];
      if (opened === path) kind.set(Number(ret), "db");
      if (opened === journalPath) kind.set(Number(ret), "journal");
    } else if (name === "close") {
      kind.delete(fd);
    } else if (name === "unlink" && args.includes(`"${journalPath}"`)) {
      commitPoint(line);
    } else if (name === "pwrite64" && kind.get(fd) === "journal") {
      result.journalWrites++;
      if (offset === 0 && length < 512 && journalEnd > 512 && journalDirty) {
        result.violations.push(
          `the header's record count was written before the records were synced: ${line}`,
        );
      }
      journalEnd = Math.max(journalEnd, offset + length);
      journalDirty = true;
    } else if (name === "pwrite64" && kind.get(fd) === "db") {
      result.dbWrites++;
      result.dbPages += length / 4096;
      if (journalDirty) {
        result.violations.push(`a database write while the journal had unsynced writes: ${line}`);
      }
      dbDirty = true;
    } else if (name === "pread64" && kind.get(fd) === "journal") {
      result.journalReads++;
    } else if ((name === "fsync" || name === "fdatasync") && kind.get(fd) === "journal") {
      journalDirty = false;
    } else if ((name === "fsync" || name === "fdatasync") && kind.get(fd) === "db") {
      dbDirty = false;
    } else if (name === "ftruncate" && kind.get(fd) === "journal") {
      commitPoint(line);
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
      "trace=openat,close,unlink,pwrite64,pread64,fsync,fdatasync,ftruncate",
      ...args,
    ],
    stdout: "null",
    stderr: "piped",
  }).outputSync();
  assert.ok(run.success, new TextDecoder().decode(run.stderr));
  return Deno.readTextFileSync(out);
}

for (const discipline of ["delete", "private"]) {
  Deno.test(`journal writes (${discipline}): two journal writes a commit, adjacent pages in one write, in the order synchronous = FULL needs`, () => {
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
    const { journalWrites, dbWrites, dbPages, journalReads, violations } = replay(trace, path);
    assert.deepEqual(violations.slice(0, 3), []);
    // A third of the commits follow a rolled-back transaction, whose records are written once too.
    const rolledBack = Math.floor(COMMITS / 3);
    assert.ok(
      journalWrites <= 2 * COMMITS + rolledBack,
      `${journalWrites} journal writes for ${COMMITS} commits (without the shim: three per journaled page)`,
    );
    assert.ok(dbPages >= 2 * COMMITS, `${dbPages} database pages written: every commit wrote its pages`);
    // Each commit's new row fills adjacent overflow pages.
    assert.ok(dbWrites <= dbPages - COMMITS, `${dbWrites} database writes for ${dbPages} pages`);
    // The journal kept open (TRUNCATE) has a known size: the pager's look past the records costs no read.
    if (discipline === "private") assert.ok(journalReads <= 1, `${journalReads} journal reads`);
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

for (const discipline of ["delete", "private"]) {
  Deno.test({
    name:
      `journal writes (${discipline}): records the disk refuses at the flush still roll the connection's cache back (a full disk)`,
    ignore: Deno.uid() !== 0, // mounting a small tmpfs needs root (CI runs as root)
    fn: () => {
      const mount = Deno.makeTempDirSync({ prefix: "ironclaw-journal-full-" });
      const run = (cmd: string, ...args: string[]) =>
        new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).outputSync().success;
      assert.ok(run("mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", mount), "mount a tmpfs");
      try {
        const path = `${mount}/full.db`;
        createJournalTestDb(path);
        // The connection keeps its page cache across the failure either way (nothing else changed the file).
        using db = openJournalTestDb(path, discipline);
        db.transaction(() => {
          for (let id = 1; id <= 20; id++) {
            db.run("INSERT INTO rows (id, version, body) VALUES (?, 0, ?)", [id, rowBody(id, 0)]);
          }
        });
        const filler = Deno.openSync(`${mount}/filler`, { write: true, create: true });
        for (let size = 64 * 1024; size >= 1;) {
          try {
            filler.writeSync(new Uint8Array(size));
          } catch {
            size = Math.floor(size / 2);
          }
        }
        filler.close();
        // Rewriting rows in place needs no new database page, only journal space, which is gone.
        assert.throws(() => db.run("UPDATE rows SET version = 1, body = ?1 || substr(body, 3)", ["v1"]));
        assert.deepEqual(
          db.get("SELECT max(version) AS v FROM rows"),
          { v: 0 },
          "the failed commit is not seen",
        );
        assert.equal(db.get("PRAGMA integrity_check")?.integrity_check, "ok");
        Deno.removeSync(`${mount}/filler`);
        db.run("UPDATE rows SET version = 2");
        assert.deepEqual(db.get("SELECT min(version) AS lo, max(version) AS hi FROM rows"), { lo: 2, hi: 2 });
      } finally {
        run("umount", "-l", mount);
        Deno.removeSync(mount, { recursive: true });
      }
    },
  });
}
