/**
 * SQLite failures as typed errors. `kind` is what callers branch on; the
 * message names the file and says what went wrong in words.
 *
 * @module
 */
import { SQLITE } from "./ffi.ts";

/** What went wrong, independent of SQLite's numeric codes. */
export type SqliteErrorKind =
  | "wrong_key"
  | "not_a_database"
  | "read_only"
  | "busy"
  | "corrupt"
  | "constraint"
  | "cant_open"
  | "disk_full"
  | "io"
  | "misuse"
  | "error";

/** A failed SQLite call. */
export class SqliteError extends Error {
  override name = "SqliteError";
  constructor(
    readonly kind: SqliteErrorKind,
    message: string,
    readonly code: number,
    readonly path: string,
  ) {
    super(message);
  }
}

/** Maps an extended result code to a kind (the primary code is its low byte). */
export function kindOf(code: number): SqliteErrorKind {
  switch (code & 0xff) {
    case SQLITE.NOTADB:
      return "not_a_database";
    case SQLITE.READONLY:
      return "read_only";
    case SQLITE.BUSY:
    case SQLITE.LOCKED:
      return "busy";
    case SQLITE.CORRUPT:
      return "corrupt";
    case SQLITE.CONSTRAINT:
      return "constraint";
    case SQLITE.CANTOPEN:
      return "cant_open";
    case SQLITE.FULL:
      return "disk_full";
    case SQLITE.IOERR:
      return "io";
    case SQLITE.MISUSE:
      return "misuse";
    default:
      return "error";
  }
}

const PLAIN_HEADER = "SQLite format 3\0";

/**
 * Refines "not a database" using the file header: SQLCipher cannot tell a wrong
 * key from garbage, but a plaintext SQLite header or an empty file can be told.
 */
export function classifyOpenFailure(path: string, code: number, keyed: boolean, detail: string): SqliteError {
  const kind = kindOf(code);
  if (kind !== "not_a_database") {
    return new SqliteError(kind, `${path}: ${detail}`, code, path);
  }
  const header = readHeader(path);
  if (header === PLAIN_HEADER && keyed) {
    return new SqliteError(
      "not_a_database",
      `${path}: is a plaintext SQLite file, not an encrypted queue`,
      code,
      path,
    );
  }
  if (keyed && header !== undefined && header.length === 16) {
    return new SqliteError(
      "wrong_key",
      `${path}: cannot decrypt with this key (wrong key, or not an encrypted database)`,
      code,
      path,
    );
  }
  return new SqliteError("not_a_database", `${path}: not a database (${detail})`, code, path);
}

function readHeader(path: string): string | undefined {
  try {
    const file = Deno.openSync(path, { read: true });
    try {
      const buf = new Uint8Array(16);
      const n = file.readSync(buf) ?? 0;
      return new TextDecoder("latin1").decode(buf.subarray(0, n));
    } finally {
      file.close();
    }
  } catch {
    return undefined;
  }
}
