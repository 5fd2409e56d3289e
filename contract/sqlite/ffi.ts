/**
 * The C symbols of libsqlcipher we call, and the loader. Everything is
 * synchronous: statements are short and a busy timeout bounds the wait.
 *
 * @module
 */

const SYMBOLS = {
  sqlite3_libversion: { parameters: [], result: "pointer" },
  sqlite3_open_v2: { parameters: ["buffer", "buffer", "i32", "pointer"], result: "i32" },
  sqlite3_close_v2: { parameters: ["pointer"], result: "i32" },
  sqlite3_extended_result_codes: { parameters: ["pointer", "i32"], result: "i32" },
  sqlite3_busy_timeout: { parameters: ["pointer", "i32"], result: "i32" },
  sqlite3_errmsg: { parameters: ["pointer"], result: "pointer" },
  sqlite3_errstr: { parameters: ["i32"], result: "pointer" },
  sqlite3_extended_errcode: { parameters: ["pointer"], result: "i32" },
  sqlite3_changes: { parameters: ["pointer"], result: "i32" },
  sqlite3_get_autocommit: { parameters: ["pointer"], result: "i32" },
  sqlite3_prepare_v2: { parameters: ["pointer", "buffer", "i32", "buffer", "pointer"], result: "i32" },
  sqlite3_step: { parameters: ["pointer"], result: "i32" },
  sqlite3_reset: { parameters: ["pointer"], result: "i32" },
  sqlite3_clear_bindings: { parameters: ["pointer"], result: "i32" },
  sqlite3_finalize: { parameters: ["pointer"], result: "i32" },
  sqlite3_bind_parameter_count: { parameters: ["pointer"], result: "i32" },
  sqlite3_bind_parameter_index: { parameters: ["pointer", "buffer"], result: "i32" },
  // The destructor argument is SQLITE_TRANSIENT, (void*)-1: SQLite copies the bytes.
  sqlite3_bind_text: { parameters: ["pointer", "i32", "buffer", "i32", "isize"], result: "i32" },
  sqlite3_bind_blob: { parameters: ["pointer", "i32", "buffer", "i32", "isize"], result: "i32" },
  sqlite3_bind_zeroblob: { parameters: ["pointer", "i32", "i32"], result: "i32" },
  sqlite3_bind_int64: { parameters: ["pointer", "i32", "i64"], result: "i32" },
  sqlite3_bind_double: { parameters: ["pointer", "i32", "f64"], result: "i32" },
  sqlite3_bind_null: { parameters: ["pointer", "i32"], result: "i32" },
  sqlite3_column_count: { parameters: ["pointer"], result: "i32" },
  sqlite3_column_name: { parameters: ["pointer", "i32"], result: "pointer" },
  sqlite3_column_type: { parameters: ["pointer", "i32"], result: "i32" },
  sqlite3_column_int64: { parameters: ["pointer", "i32"], result: "i64" },
  sqlite3_column_double: { parameters: ["pointer", "i32"], result: "f64" },
  sqlite3_column_text: { parameters: ["pointer", "i32"], result: "pointer" },
  sqlite3_column_blob: { parameters: ["pointer", "i32"], result: "pointer" },
  sqlite3_column_bytes: { parameters: ["pointer", "i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

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

/** Reads a NUL-terminated C string, or "" for a null pointer. */
export function readCString(ptr: Deno.PointerValue): string {
  return ptr === null ? "" : Deno.UnsafePointerView.getCString(ptr);
}
