/**
 * The host's durable encrypted state: one SQLCipher file, `<stateDir>/state.db`,
 * holding the registry and the gateway's change store.
 *
 * Journal mode is WAL. The file is host-only (never bind-mounted into a
 * sandbox, unlike the queues), so WAL's shared-memory index is safe here, and
 * it buys one fsync per commit instead of DELETE mode's several: every routed
 * message bumps a session's `last_active`. WAL frames are encrypted like every
 * other page; the `-shm` index holds frame numbers and checksums, no rows.
 *
 * @module
 */
import { BUSY_TIMEOUT_MS } from "../../contract/cipher.ts";
import { Database } from "../../contract/sqlite/mod.ts";
import { logger } from "../log/mod.ts";
import { migrate, SCHEMA_VERSION } from "./migrations.ts";

/** File name of the state database inside the state directory. */
export const STATE_DB_FILE = "state.db";

/**
 * Beside the database, in plain text, the schema version it was last opened
 * with: so an installer can refuse binaries too old for it without the key.
 */
export const STATE_SCHEMA_FILE = "schema-version";

/** Where a copy of the state database is kept before migrations change it (`<state-dir>/pre-migration/`). */
export const PRE_MIGRATION_DIR = "pre-migration";

/** The longest a {@link StateDb.writeSoon} commit waits for an fsync of the WAL when no FULL commit comes first. */
export const WRITE_SOON_SYNC_MS = 100;

/** Pragmas of every state connection: WAL, fsync at each commit, enforced foreign keys, no mmap. */
export const STATE_PRAGMAS: readonly string[] = [
  "journal_mode = WAL",
  "synchronous = FULL",
  "foreign_keys = ON",
  "mmap_size = 0",
];

/** How to open the state database. */
export interface StateDbOptions {
  /** Path of libsqlcipher. */
  library: string;
  /** The raw 256-bit state key, from key custody. */
  key: Uint8Array;
}

/** An open state database, migrated to this build's schema. */
export class StateDb implements Disposable {
  /** The connection; the registry, the change store and later migrations' owners share it. */
  readonly db: Database;
  /** The schema version after migration. */
  readonly schemaVersion: number;
  /** {@link writeSoon} commits so far, and how many of them an fsync of the WAL has covered. */
  #written = 0;
  #synced = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #wal: Deno.FsFile | undefined;

  private constructor(db: Database, schemaVersion: number) {
    this.db = db;
    this.schemaVersion = schemaVersion;
  }

  /**
   * Opens (creating when missing) `<stateDir>/state.db` read-write with `key`,
   * owner-only (0600) with its journal files, and applies pending migrations.
   * A wrong key fails here with a `SqliteError` of kind `wrong_key`; a file
   * from a newer build with a `StateSchemaError`.
   */
  static open(stateDir: string, options: StateDbOptions): StateDb {
    Deno.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const path = `${stateDir}/${STATE_DB_FILE}`;
    createPrivate(path);
    // SQLite gives -wal and -shm the mode of the database file; tighten leftovers from older runs too.
    for (const file of [path, `${path}-wal`, `${path}-shm`]) restrictMode(file);
    const db = Database.open(path, {
      library: options.library,
      key: options.key,
      busyTimeoutMs: BUSY_TIMEOUT_MS,
      pragmas: STATE_PRAGMAS,
    });
    try {
      backUpBeforeMigrating(db, stateDir);
      const version = migrate(db);
      writeSchemaMarker(stateDir, version);
      return new StateDb(db, version);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /** Path of the database file. */
  get path(): string {
    return this.db.path;
  }

  /**
   * Runs `fn` in a transaction committed without waiting for the disk: the
   * commit is in the WAL when this returns (every later read sees it, and it
   * survives a kill -9 of the host: the kernel holds the write), and on disk
   * at the next {@link commit}, {@link sync} or, at the latest,
   * {@link WRITE_SOON_SYNC_MS} later (a power cut before that may lose it).
   * Inside a transaction already open, `fn` joins it (that commit decides).
   */
  writeSoon<T>(fn: () => T): T {
    const db = this.db;
    if (db.inTransaction) return fn();
    db.run("PRAGMA synchronous = NORMAL");
    try {
      const result = db.transaction(fn);
      this.#written++;
      this.#syncLater();
      return result;
    } finally {
      db.run("PRAGMA synchronous = FULL");
    }
  }

  /**
   * Runs `fn` in a transaction committed `synchronous = FULL` (on disk when
   * this returns), whose fsync of the WAL also puts every {@link writeSoon}
   * commit before it on disk.
   */
  commit<T>(fn: () => T): T {
    if (this.db.inTransaction) return fn();
    const covering = this.#written;
    const result = this.db.transaction(fn);
    this.#synced = Math.max(this.#synced, covering);
    return result;
  }

  /** Commits made with {@link writeSoon} and not on disk yet. */
  get unsynced(): number {
    return this.#written - this.#synced;
  }

  /** Puts every {@link writeSoon} commit so far on disk now: one fdatasync of the WAL, when any waits. */
  sync(): void {
    if (this.#synced >= this.#written) return;
    const covering = this.#written;
    // No WAL file: SQLite removed it after checkpointing it into the database with a sync.
    this.#walFile()?.syncDataSync();
    this.#synced = Math.max(this.#synced, covering);
  }

  #syncLater(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      try {
        this.sync();
      } catch (error) {
        logger("state").error("syncing the state database's WAL: {error}", { error: String(error) });
      }
    }, WRITE_SOON_SYNC_MS);
    Deno.unrefTimer(this.#timer);
  }

  #walFile(): Deno.FsFile | undefined {
    if (this.#wal) return this.#wal;
    try {
      this.#wal = Deno.openSync(`${this.db.path}-wal`, { read: true });
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return undefined;
      throw err;
    }
    return this.#wal;
  }

  /** Closes the connection (checkpointing the WAL, with a sync: every commit is on disk). Idempotent. */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.db.close();
    this.#synced = this.#written;
    this.#wal?.close();
    this.#wal = undefined;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Records `version` in {@link STATE_SCHEMA_FILE} (written aside and renamed in, only when it changes). */
/**
 * Before an upgrade's migrations touch an existing database, a copy of it as
 * it was (`pre-migration/state-v<N>.db`, still encrypted under the same key,
 * owner-only): a failed or regretted upgrade can go back to it with the
 * release that wrote it. A new database, or one already current, is not copied.
 */
function backUpBeforeMigrating(db: Database, stateDir: string): void {
  const from = appliedVersion(db);
  if (from === 0 || from >= SCHEMA_VERSION) return;
  const dir = `${stateDir}/${PRE_MIGRATION_DIR}`;
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  let target = `${dir}/state-v${from}.db`;
  try {
    if (Deno.statSync(target).size > 0) target = `${dir}/state-v${from}-${Date.now()}.db`;
  } catch {
    // not there yet
  }
  createPrivate(target);
  db.exec(`VACUUM INTO '${target.replaceAll("'", "''")}'`);
}

/** The newest migration applied to `db` (0 for a new file). */
function appliedVersion(db: Database): number {
  const table = db.get(
    "SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
  );
  if (!table) return 0;
  return Number(db.get("SELECT coalesce(max(version), 0) AS v FROM schema_migrations")?.v ?? 0);
}

function writeSchemaMarker(stateDir: string, version: number): void {
  const path = `${stateDir}/${STATE_SCHEMA_FILE}`;
  const text = `${version}\n`;
  try {
    if (Deno.readTextFileSync(path) === text) return;
  } catch {
    // missing: written below
  }
  Deno.writeTextFileSync(`${path}.tmp`, text, { mode: 0o600 });
  Deno.renameSync(`${path}.tmp`, path);
}

/** Creates an empty file with mode 0600 unless one exists, so the key never guards a world-readable file. */
function createPrivate(path: string): void {
  try {
    Deno.openSync(path, { createNew: true, write: true, mode: 0o600 }).close();
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
  }
}

/** Drops group and other bits of a regular file. Symlinks are left alone: the open refuses to follow them. */
function restrictMode(path: string): void {
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    throw err;
  }
  if (info.isFile && info.mode !== null && (info.mode & 0o077) !== 0) Deno.chmodSync(path, 0o600);
}
