/**
 * Test helpers for the host's state database.
 *
 * @module
 */
import { StateDb } from "../../src/state/mod.ts";
import { fixedKey, LIBRARY } from "./mod.ts";

/** The key test state databases are opened with. */
export const STATE_TEST_KEY: Uint8Array = fixedKey(0x11);

/** Opens (creating when missing) the state database in `dir` with the test key. */
export function openTestState(dir: string, key: Uint8Array = STATE_TEST_KEY): StateDb {
  return StateDb.open(dir, { library: LIBRARY, key });
}
