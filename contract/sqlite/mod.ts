/**
 * Our FFI binding to libsqlcipher: the only SQLite layer in IronClaw.
 *
 * ```ts
 * import { Database, resolveLibraryPath } from "./mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const key = crypto.getRandomValues(new Uint8Array(32));
 * {
 *   using db = Database.open(`${dir}/x.db`, { library: resolveLibraryPath(), key, create: true });
 *   db.exec("CREATE TABLE t(x)");
 * }
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */
export { Database, Statement } from "./database.ts";
export type { BindValue, ColumnValue, OpenOptions, Params, Row } from "./database.ts";
export { SqliteError } from "./errors.ts";
export type { SqliteErrorKind } from "./errors.ts";
export { resolveLibraryPath, SQLCIPHER_LIB_ENV, SQLCIPHER_LIB_NAME, SQLCIPHER_VERSION } from "./library.ts";
export { repoRoot, SQLCIPHER_CACHE_DIR } from "./library.ts";
