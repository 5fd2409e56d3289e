/**
 * A writer process for the journal crash tests (`journal_crash_test.ts`),
 * killed -9 by them at random points. Arguments: the database path, the
 * journal discipline (`delete`: the host's writers, `private`: the agent's
 * outbound writer under gVisor) and the task:
 *
 * - `commits [LIMIT]`: commit transactions numbered from the file's counter
 *   + 1, for ever or LIMIT of them; each inserts row N (an overflow-page body), rewrites two older rows
 *   and sets the counter to N, then prints `N` once the commit has returned.
 *   Every third one is preceded by a transaction that inserts row -N and is
 *   rolled back, so a rolled-back row showing up later would be caught.
 * - `spill`: opens a transaction whose pages spill into the database file
 *   before its commit (a two-page cache), prints `spilled` and waits.
 *
 * @module
 */
import { PRIVATE_LOCK_WRITER_PRAGMAS, WRITER_PRAGMAS } from "../../contract/cipher.ts";
import { Database } from "../../contract/sqlite/mod.ts";
import { fixedKey, LIBRARY } from "../support/mod.ts";

/** The row body every test side recomputes: long enough for overflow pages, distinct per row and rewrite. */
export function rowBody(id: number, version: number): string {
  return `${id}.${version};`.repeat(700);
}

/** Creates the test database: rows, a one-row counter, the first rows. */
export function createJournalTestDb(path: string): void {
  using db = Database.open(path, {
    library: LIBRARY,
    key: fixedKey(0x11),
    create: true,
    pragmas: WRITER_PRAGMAS,
  });
  db.exec("CREATE TABLE rows (id INTEGER PRIMARY KEY, version INTEGER NOT NULL, body TEXT NOT NULL)");
  db.exec("CREATE TABLE counter (only INTEGER PRIMARY KEY CHECK (only = 1), n INTEGER NOT NULL)");
  db.run("INSERT INTO counter (only, n) VALUES (1, 0)");
}

/** Opens the test database with a discipline's pragmas. */
export function openJournalTestDb(path: string, discipline: string, extra: string[] = []): Database {
  const pragmas = discipline === "private" ? PRIVATE_LOCK_WRITER_PRAGMAS : WRITER_PRAGMAS;
  return Database.open(path, { library: LIBRARY, key: fixedKey(0x11), pragmas: [...pragmas, ...extra] });
}

function say(line: string): void {
  Deno.stdout.writeSync(new TextEncoder().encode(`${line}\n`));
}

function commit(db: Database, limit: number): void {
  let n = Number(db.get("SELECT n FROM counter")?.n);
  for (const end = n + limit; n < end;) {
    n++;
    if (n % 3 === 0) {
      try {
        db.transaction(() => {
          db.run("INSERT INTO rows (id, version, body) VALUES (?, 0, ?)", [-n, rowBody(-n, 0)]);
          throw new Error("rolled back on purpose");
        });
      } catch { /* the rollback is the point */ }
    }
    db.transaction(() => {
      db.run("INSERT INTO rows (id, version, body) VALUES (?, 0, ?)", [n, rowBody(n, 0)]);
      for (const old of [Math.ceil(n / 2), Math.ceil(n / 3)]) {
        if (old >= n) continue;
        db.run("UPDATE rows SET version = version + 1, body = ? WHERE id = ?", [rowBody(old, n), old]);
      }
      db.run("UPDATE counter SET n = ?", [n]);
    });
    say(String(n));
  }
}

if (import.meta.main) {
  const [path, discipline, task] = Deno.args;
  if (task === "spill") {
    const db = openJournalTestDb(path, discipline, ["cache_size = 2"]);
    db.run("BEGIN IMMEDIATE");
    for (let i = 1; i <= 40; i++) {
      db.run("INSERT INTO rows (id, version, body) VALUES (?, 0, ?)", [
        1_000_000 + i,
        rowBody(1_000_000 + i, 0),
      ]);
    }
    say("spilled");
    setInterval(() => {}, 60_000);
  } else {
    using db = openJournalTestDb(path, discipline);
    commit(db, Number(Deno.args[3] ?? Infinity));
  }
}
