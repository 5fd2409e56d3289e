/**
 * A small synchronous SQLite/SQLCipher binding over `Deno.dlopen`: open with a
 * raw key, prepared statements with typed binding and row decoding,
 * transactions, and deterministic cleanup (`using` or `close()`).
 *
 * @module
 */
import { classifyOpenFailure, kindOf, SqliteError } from "./errors.ts";
import {
  type Address,
  COLUMN,
  copyBytes,
  cString,
  loadSqlcipher,
  OPEN,
  readCString,
  SQLITE,
  type SqliteSymbols,
} from "./ffi.ts";

/** A value SQLite can bind. Booleans become 0/1, `undefined` becomes NULL. */
export type BindValue = string | number | bigint | boolean | null | undefined | Uint8Array;
/** Positional (`?`) or named (`:name`) parameters. */
export type Params = readonly BindValue[] | Readonly<Record<string, BindValue>>;
/** A decoded column value. */
export type ColumnValue = string | number | bigint | null | Uint8Array;
/** A row, keyed by column name. */
export type Row = Record<string, ColumnValue>;

/** How to open a database file. */
export interface OpenOptions {
  /** Path of libsqlcipher. */
  library: string;
  /** The raw 256-bit key; omit only for plaintext comparisons in benchmarks. */
  key?: Uint8Array;
  /** Open read-only (SQLITE_OPEN_READONLY). */
  readOnly?: boolean;
  /** Create the file when missing (read-write only). */
  create?: boolean;
  /** How long a statement waits on another connection's lock, in ms. */
  busyTimeoutMs?: number;
  /** Pragmas run after keying, before the probe read, e.g. `["journal_mode = DELETE"]`. */
  pragmas?: readonly string[];
  /** The VFS by name, e.g. `"unix-none"` (no file locks); default: the library's default VFS. */
  vfs?: string;
}

const SQLITE_TRANSIENT = -1n;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const closeLeaked = new FinalizationRegistry<{ lib: SqliteSymbols; handle: Address }>(
  ({ lib, handle }) => lib.sqlite3_close_v2(handle),
);

/** An open database connection. */
export class Database implements Disposable {
  #lib: SqliteSymbols;
  #handle: Address | null;
  #statements = new Set<Statement>();
  #cache = new Map<string, Statement>();
  readonly path: string;
  readonly readOnly: boolean;

  private constructor(lib: SqliteSymbols, handle: Address, path: string, readOnly: boolean) {
    this.#lib = lib;
    this.#handle = handle;
    this.path = path;
    this.readOnly = readOnly;
    closeLeaked.register(this, { lib, handle }, this);
  }

  /**
   * Opens `path`. The key is applied before any page is read and a probe read
   * follows, so a wrong key fails here rather than at the first query.
   */
  static open(path: string, options: OpenOptions): Database {
    if (options.key && options.key.length !== 32) {
      throw new SqliteError(
        "misuse",
        `${path}: a raw key must be 32 bytes, got ${options.key.length}`,
        SQLITE.MISUSE,
        path,
      );
    }
    const lib = loadSqlcipher(options.library);
    const flags = (options.readOnly ? OPEN.READONLY : OPEN.READWRITE | (options.create ? OPEN.CREATE : 0)) |
      OPEN.PRIVATECACHE | OPEN.NOFOLLOW;
    const out = new BigUint64Array(1);
    const vfs = options.vfs === undefined ? null : cString(options.vfs);
    const rc = lib.sqlite3_open_v2(cString(path), new Uint8Array(out.buffer), flags, vfs);
    const handle = out[0];
    if (rc !== SQLITE.OK || handle === 0n) {
      const detail = readCString(lib, handle ? lib.sqlite3_errmsg(handle) : lib.sqlite3_errstr(rc));
      if (handle) lib.sqlite3_close_v2(handle);
      throw new SqliteError(kindOf(rc), `${path}: cannot open (${detail})`, rc, path);
    }
    lib.sqlite3_extended_result_codes(handle, 1);
    const db = new Database(lib, handle, path, options.readOnly ?? false);
    try {
      lib.sqlite3_busy_timeout(handle, options.busyTimeoutMs ?? 5000);
      if (options.key) db.#execKey(options.key);
      for (const pragma of options.pragmas ?? []) db.exec(`PRAGMA ${pragma}`);
      db.get("SELECT count(*) AS n FROM sqlite_master");
    } catch (err) {
      db.close();
      if (err instanceof SqliteError) throw classifyOpenFailure(path, err.code, !!options.key, err.message);
      throw err;
    }
    return db;
  }

  #execKey(key: Uint8Array): void {
    const hex = Array.from(key, (b) => b.toString(16).padStart(2, "0")).join("");
    // Raw-key form: the 32 bytes are the cipher key; no passphrase KDF runs.
    this.exec(`PRAGMA key = "x'${hex}'"`);
  }

  /** The raw `sqlite3*` address; throws once closed. */
  get handle(): Address {
    if (this.#handle === null) {
      throw new SqliteError("misuse", `${this.path}: database is closed`, SQLITE.MISUSE, this.path);
    }
    return this.#handle;
  }

  /** True until `close()`. */
  get isOpen(): boolean {
    return this.#handle !== null;
  }

  /** Rows changed by the most recent INSERT/UPDATE/DELETE. */
  get changes(): number {
    return this.#lib.sqlite3_changes(this.handle);
  }

  /** True when no transaction is open. */
  get inTransaction(): boolean {
    return this.#lib.sqlite3_get_autocommit(this.handle) === 0;
  }

  /** Compiles one statement. The caller owns it (`using` or `finalize()`). */
  prepare(sql: string): Statement {
    const lib = this.#lib;
    const out = new BigUint64Array(1);
    const sqlBytes = encoder.encode(sql);
    const rc = lib.sqlite3_prepare_v2(
      this.handle,
      sqlBytes,
      sqlBytes.length,
      new Uint8Array(out.buffer),
      0n,
    );
    if (rc !== SQLITE.OK) throw this.error(rc, `cannot prepare: ${firstLine(sql)}`);
    const stmt = out[0];
    if (stmt === 0n) {
      throw new SqliteError(
        "misuse",
        `${this.path}: empty statement: ${firstLine(sql)}`,
        SQLITE.MISUSE,
        this.path,
      );
    }
    const statement = new Statement(this, lib, stmt, sql, () => this.#statements.delete(statement));
    this.#statements.add(statement);
    return statement;
  }

  /** A statement prepared once and reused for the life of the connection. */
  cached(sql: string): Statement {
    let stmt = this.#cache.get(sql);
    if (!stmt || stmt.finalized) {
      stmt = this.prepare(sql);
      this.#cache.set(sql, stmt);
    }
    return stmt;
  }

  /** Runs one statement that returns no rows we need. */
  exec(sql: string, params?: Params): number {
    using stmt = this.prepare(sql);
    return stmt.run(params);
  }

  /** Runs a script of `;`-separated statements (schema DDL). */
  execScript(script: string): void {
    for (const sql of splitStatements(script)) this.exec(sql);
  }

  /** All rows of a cached statement. */
  all<T extends Row = Row>(sql: string, params?: Params): T[] {
    return this.cached(sql).all<T>(params);
  }

  /** The first row of a cached statement, if any. */
  get<T extends Row = Row>(sql: string, params?: Params): T | undefined {
    return this.cached(sql).get<T>(params);
  }

  /** Runs a cached statement; returns the number of changed rows. */
  run(sql: string, params?: Params): number {
    return this.cached(sql).run(params);
  }

  /**
   * Runs `fn` in a transaction; commits on return, rolls back on throw.
   * `immediate` takes the write lock up front, so writers queue on the busy
   * timeout instead of failing mid-transaction.
   */
  transaction<T>(fn: () => T, mode: "deferred" | "immediate" = "immediate"): T {
    if (this.inTransaction) return fn();
    this.run(mode === "immediate" ? "BEGIN IMMEDIATE" : "BEGIN");
    try {
      const result = fn();
      this.run("COMMIT");
      return result;
    } catch (err) {
      if (this.inTransaction) this.run("ROLLBACK");
      throw err;
    }
  }

  /** Finalizes every statement and closes the connection. Idempotent. */
  close(): void {
    if (this.#handle === null) return;
    for (const stmt of [...this.#statements]) stmt.finalize();
    this.#cache.clear();
    this.#lib.sqlite3_close_v2(this.#handle);
    closeLeaked.unregister(this);
    this.#handle = null;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** Builds a typed error from the connection's last failure. */
  error(rc: number, what: string): SqliteError {
    const extended = this.#handle ? this.#lib.sqlite3_extended_errcode(this.#handle) : rc;
    const detail = this.#handle ? readCString(this.#lib, this.#lib.sqlite3_errmsg(this.#handle)) : "";
    const code = (extended & 0xff) === (rc & 0xff) ? extended : rc;
    return new SqliteError(kindOf(code), `${this.path}: ${what}: ${detail}`, code, this.path);
  }
}

/** A prepared statement. */
export class Statement implements Disposable {
  #db: Database;
  #lib: SqliteSymbols;
  #stmt: Address | null;
  #onFinalize: () => void;
  #columns: string[] | undefined;
  readonly sql: string;

  /** @internal Created by {@link Database.prepare}. */
  constructor(
    db: Database,
    lib: SqliteSymbols,
    stmt: Address,
    sql: string,
    onFinalize: () => void,
  ) {
    this.#db = db;
    this.#lib = lib;
    this.#stmt = stmt;
    this.sql = sql;
    this.#onFinalize = onFinalize;
  }

  /** True after `finalize()`. */
  get finalized(): boolean {
    return this.#stmt === null;
  }

  /** Executes to completion; returns the number of changed rows. */
  run(params?: Params): number {
    this.#start(params);
    try {
      while (this.#step()) { /* drain */ }
      return this.#db.changes;
    } finally {
      this.#lib.sqlite3_reset(this.#handle);
    }
  }

  /** Every row. */
  all<T extends Row = Row>(params?: Params): T[] {
    this.#start(params);
    try {
      const rows: T[] = [];
      while (this.#step()) rows.push(this.#row() as T);
      return rows;
    } finally {
      this.#lib.sqlite3_reset(this.#handle);
    }
  }

  /** The first row, if any. */
  get<T extends Row = Row>(params?: Params): T | undefined {
    this.#start(params);
    try {
      return this.#step() ? this.#row() as T : undefined;
    } finally {
      this.#lib.sqlite3_reset(this.#handle);
    }
  }

  /** Releases the statement. Idempotent. */
  finalize(): void {
    if (this.#stmt === null) return;
    this.#lib.sqlite3_finalize(this.#stmt);
    this.#stmt = null;
    this.#onFinalize();
  }

  [Symbol.dispose](): void {
    this.finalize();
  }

  get #handle(): Address {
    if (this.#stmt === null) {
      throw new SqliteError(
        "misuse",
        `${this.#db.path}: statement is finalized`,
        SQLITE.MISUSE,
        this.#db.path,
      );
    }
    return this.#stmt;
  }

  #start(params: Params | undefined): void {
    const stmt = this.#handle;
    this.#lib.sqlite3_reset(stmt);
    this.#lib.sqlite3_clear_bindings(stmt);
    if (params === undefined) return;
    if (Array.isArray(params)) {
      const expected = this.#lib.sqlite3_bind_parameter_count(stmt);
      if (params.length !== expected) {
        throw new SqliteError(
          "misuse",
          `${this.#db.path}: expected ${expected} parameters, got ${params.length}: ${firstLine(this.sql)}`,
          SQLITE.MISUSE,
          this.#db.path,
        );
      }
      params.forEach((value, i) => this.#bind(i + 1, value));
    } else {
      for (const [name, value] of Object.entries(params)) {
        const index = this.#lib.sqlite3_bind_parameter_index(stmt, cString(`:${name}`));
        if (index === 0) {
          throw new SqliteError(
            "misuse",
            `${this.#db.path}: no parameter :${name}`,
            SQLITE.MISUSE,
            this.#db.path,
          );
        }
        this.#bind(index, value);
      }
    }
  }

  #bind(index: number, value: BindValue): void {
    const stmt = this.#handle;
    const lib = this.#lib;
    let rc: number;
    if (value === null || value === undefined) rc = lib.sqlite3_bind_null(stmt, index);
    else if (typeof value === "string") {
      const bytes = encoder.encode(value);
      rc = lib.sqlite3_bind_text(stmt, index, bytes, bytes.length, SQLITE_TRANSIENT);
    } else if (typeof value === "boolean") rc = lib.sqlite3_bind_int64(stmt, index, value ? 1n : 0n);
    else if (typeof value === "bigint") rc = lib.sqlite3_bind_int64(stmt, index, value);
    else if (typeof value === "number") {
      rc = Number.isSafeInteger(value)
        ? lib.sqlite3_bind_int64(stmt, index, BigInt(value))
        : lib.sqlite3_bind_double(stmt, index, value);
    } else if (value.length === 0) rc = lib.sqlite3_bind_zeroblob(stmt, index, 0);
    else {rc = lib.sqlite3_bind_blob(
        stmt,
        index,
        value as Uint8Array<ArrayBuffer>,
        value.length,
        SQLITE_TRANSIENT,
      );}
    if (rc !== SQLITE.OK) throw this.#db.error(rc, `cannot bind parameter ${index}`);
  }

  #step(): boolean {
    const rc = this.#lib.sqlite3_step(this.#handle);
    if (rc === SQLITE.ROW) return true;
    if (rc === SQLITE.DONE) return false;
    throw this.#db.error(rc, `cannot run: ${firstLine(this.sql)}`);
  }

  #row(): Row {
    const stmt = this.#handle;
    const lib = this.#lib;
    const columns = this.#columns ??= Array.from(
      { length: lib.sqlite3_column_count(stmt) },
      (_, i) => readCString(lib, lib.sqlite3_column_name(stmt, i)),
    );
    const row: Row = {};
    for (let i = 0; i < columns.length; i++) row[columns[i]] = this.#column(stmt, i);
    return row;
  }

  #column(stmt: Address, i: number): ColumnValue {
    const lib = this.#lib;
    switch (lib.sqlite3_column_type(stmt, i)) {
      case COLUMN.INTEGER: {
        const v = lib.sqlite3_column_int64(stmt, i);
        return typeof v === "bigint" && v >= BigInt(Number.MIN_SAFE_INTEGER) &&
            v <= BigInt(Number.MAX_SAFE_INTEGER)
          ? Number(v)
          : v;
      }
      case COLUMN.FLOAT:
        return lib.sqlite3_column_double(stmt, i);
      // The pointer first, then the length: column_bytes after column_text
      // measures the converted value (SQLite's documented call order).
      case COLUMN.TEXT: {
        const address = lib.sqlite3_column_text(stmt, i);
        return decoder.decode(copyBytes(lib, address, lib.sqlite3_column_bytes(stmt, i)));
      }
      case COLUMN.BLOB: {
        const address = lib.sqlite3_column_blob(stmt, i);
        return copyBytes(lib, address, lib.sqlite3_column_bytes(stmt, i));
      }
      default:
        return null;
    }
  }
}

function firstLine(sql: string): string {
  const line = sql.trim().split("\n")[0];
  return line.length > 80 ? `${line.slice(0, 77)}...` : line;
}

/** Splits DDL on `;` at line ends. Our schema scripts hold no string literals with `;`. */
function splitStatements(script: string): string[] {
  return script.split(/;\s*(?:\n|$)/).map((s) => s.trim()).filter((s) => s.length > 0);
}
