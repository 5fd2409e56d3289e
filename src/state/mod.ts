/**
 * The host's durable encrypted state: the SQLCipher state database with its
 * forward-only migrations, the gateway's change store, and the typed errors
 * every state reader and writer throws.
 *
 * ```ts
 * import { resolveLibraryPath } from "../../contract/sqlite/mod.ts";
 *
 * const stateDir = await Deno.makeTempDir();
 * const key = crypto.getRandomValues(new Uint8Array(32)); // from key custody in the plane
 * {
 *   using state = StateDb.open(stateDir, { library: resolveLibraryPath(), key });
 *   const changes = new ChangeStore(state);
 *   console.log(changes.pending());
 * }
 * await Deno.remove(stateDir, { recursive: true });
 * ```
 *
 * @module
 */
export {
  PRE_MIGRATION_DIR,
  STATE_DB_FILE,
  STATE_PRAGMAS,
  STATE_SCHEMA_FILE,
  StateDb,
  WRITE_SOON_SYNC_MS,
} from "./state_db.ts";
export type { StateDbOptions } from "./state_db.ts";
export { migrate, MIGRATIONS, SCHEMA_VERSION } from "./migrations.ts";
export type { Migration } from "./migrations.ts";
export { ChangeStore } from "./change_store.ts";
export { ConflictError, InvalidInputError, NotFoundError, StateSchemaError, validate } from "./errors.ts";
