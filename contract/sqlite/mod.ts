/**
 * Our FFI binding to libsqlcipher: the only SQLite layer in IronClaw.
 *
 * ```ts
 * import { Database } from "./mod.ts";
 * using db = Database.open("/tmp/x.db", { library, key, create: true });
 * db.exec("CREATE TABLE t(x)");
 * ```
 *
 * @module
 */
export { Database, Statement } from "./database.ts";
export type { BindValue, ColumnValue, OpenOptions, Params, Row } from "./database.ts";
export { SqliteError } from "./errors.ts";
export type { SqliteErrorKind } from "./errors.ts";
export { resolveLibraryPath, SQLCIPHER_LIB_ENV, SQLCIPHER_LIB_NAME, SQLCIPHER_VERSION } from "./library.ts";
