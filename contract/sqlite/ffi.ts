/**
 * The C symbols of libsqlcipher we call, and the loader. Everything is
 * synchronous: statements are short and a busy timeout bounds the wait.
 *
 * @module
 */

/**
 * Handles (`sqlite3*`, `sqlite3_stmt*`) and returned C strings travel as
 * plain addresses (`usize`), never as Deno pointer objects: under the agent's
 * scoped `--allow-ffi=<libsqlcipher>` Deno refuses every pointer operation
 * (`UnsafePointer.create/of/value`, `UnsafePointerView`) and allows only
 * calls into the library. Out-parameters are written into our own typed
 * buffers, and bytes are copied out with `memcpy`.
 */
const SYMBOLS = {
  sqlite3_libversion: { parameters: [], result: "usize" },
  sqlite3_open_v2: { parameters: ["buffer", "buffer", "i32", "buffer"], result: "i32" },
  sqlite3_close_v2: { parameters: ["usize"], result: "i32" },
  sqlite3_extended_result_codes: { parameters: ["usize", "i32"], result: "i32" },
  sqlite3_busy_timeout: { parameters: ["usize", "i32"], result: "i32" },
  sqlite3_errmsg: { parameters: ["usize"], result: "usize" },
  sqlite3_errstr: { parameters: ["i32"], result: "usize" },
  sqlite3_extended_errcode: { parameters: ["usize"], result: "i32" },
  sqlite3_changes: { parameters: ["usize"], result: "i32" },
  sqlite3_get_autocommit: { parameters: ["usize"], result: "i32" },
  sqlite3_prepare_v2: { parameters: ["usize", "buffer", "i32", "buffer", "usize"], result: "i32" },
  sqlite3_step: { parameters: ["usize"], result: "i32" },
  sqlite3_reset: { parameters: ["usize"], result: "i32" },
  sqlite3_clear_bindings: { parameters: ["usize"], result: "i32" },
  sqlite3_finalize: { parameters: ["usize"], result: "i32" },
  sqlite3_bind_parameter_count: { parameters: ["usize"], result: "i32" },
  sqlite3_bind_parameter_index: { parameters: ["usize", "buffer"], result: "i32" },
  // The destructor argument is SQLITE_TRANSIENT, (void*)-1: SQLite copies the bytes.
  sqlite3_bind_text: { parameters: ["usize", "i32", "buffer", "i32", "isize"], result: "i32" },
  sqlite3_bind_blob: { parameters: ["usize", "i32", "buffer", "i32", "isize"], result: "i32" },
  sqlite3_bind_zeroblob: { parameters: ["usize", "i32", "i32"], result: "i32" },
  sqlite3_bind_int64: { parameters: ["usize", "i32", "i64"], result: "i32" },
  sqlite3_bind_double: { parameters: ["usize", "i32", "f64"], result: "i32" },
  sqlite3_bind_null: { parameters: ["usize", "i32"], result: "i32" },
  sqlite3_column_count: { parameters: ["usize"], result: "i32" },
  sqlite3_column_name: { parameters: ["usize", "i32"], result: "usize" },
  sqlite3_column_type: { parameters: ["usize", "i32"], result: "i32" },
  sqlite3_column_int64: { parameters: ["usize", "i32"], result: "i64" },
  sqlite3_column_double: { parameters: ["usize", "i32"], result: "f64" },
  sqlite3_column_text: { parameters: ["usize", "i32"], result: "usize" },
  sqlite3_column_blob: { parameters: ["usize", "i32"], result: "usize" },
  sqlite3_column_bytes: { parameters: ["usize", "i32"], result: "i32" },
  // libc, reached through the library's own dependency scope (dlsym on the
  // libsqlcipher handle searches its DT_NEEDED libraries): the only way to
  // read SQLite's memory without Deno's pointer operations.
  memcpy: { parameters: ["buffer", "usize", "usize"], result: "usize" },
  strlen: { parameters: ["usize"], result: "usize" },
} as const satisfies Deno.ForeignLibraryInterface;

/** A C address as a plain integer; `0n` is NULL. */
export type Address = bigint;

/** The loaded symbol table. */
export type SqliteSymbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

const loaded = new Map<string, SqliteSymbols>();

/** Loads (once per path) libsqlcipher and returns its symbols. */
export function loadSqlcipher(path: string): SqliteSymbols {
  let symbols = loaded.get(path);
  if (!symbols) {
    try {
      symbols = Deno.dlopen(path, SYMBOLS).symbols;
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new Error(`cannot load libsqlcipher from ${path} (${why}); run 'deno task setup' to build it`);
    }
    loaded.set(path, symbols);
  }
  return symbols;
}

/** Result codes we branch on (primary codes; extended codes mask to these). */
export const SQLITE = {
  OK: 0,
  ERROR: 1,
  PERM: 3,
  BUSY: 5,
  LOCKED: 6,
  READONLY: 8,
  IOERR: 10,
  CORRUPT: 11,
  FULL: 13,
  CANTOPEN: 14,
  CONSTRAINT: 19,
  MISUSE: 21,
  NOTADB: 26,
  ROW: 100,
  DONE: 101,
} as const;

/** `sqlite3_open_v2` flags. */
export const OPEN = {
  READONLY: 0x1,
  READWRITE: 0x2,
  CREATE: 0x4,
  NOMUTEX: 0x8000,
  PRIVATECACHE: 0x40000,
  NOFOLLOW: 0x1000000,
} as const;

/** Column storage classes. */
export const COLUMN = { INTEGER: 1, FLOAT: 2, TEXT: 3, BLOB: 4, NULL: 5 } as const;

const encoder = new TextEncoder();

/** A NUL-terminated UTF-8 copy of `text`, for C string parameters. */
export function cString(text: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(encoder.encode(text).length + 1);
  encoder.encodeInto(text, bytes);
  return bytes;
}

/** Copies `length` bytes at `address` into a fresh buffer (empty for NULL or 0). */
export function copyBytes(lib: SqliteSymbols, address: Address, length: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(length);
  if (address !== 0n && length > 0) lib.memcpy(bytes, address, BigInt(length));
  return bytes;
}

const decoder = new TextDecoder();

/** Reads a NUL-terminated UTF-8 C string, or "" for NULL. */
export function readCString(lib: SqliteSymbols, address: Address): string {
  return address === 0n ? "" : decoder.decode(copyBytes(lib, address, Number(lib.strlen(address))));
}
