/**
 * Host key custody: the master key file, sub-key derivation, the custodian
 * of sealed data keys (with crash-safe master rotation), and the session key
 * hand-off file.
 *
 * ```ts
 * import { newSessionId } from "../../contract/ids.ts";
 *
 * const stateDir = await Deno.makeTempDir();
 * const sid = newSessionId();
 * const custodian = await KeyCustodian.open(stateDir);
 * const key = await custodian.getOrCreate(sessionKeyId(sid));
 * await Deno.mkdir(`${stateDir}/keys/${sid}`, { recursive: true });
 * await writeKeyFile(`${stateDir}/keys/${sid}/session.key`, key);
 * await Deno.remove(stateDir, { recursive: true });
 * ```
 *
 * @module
 */
export { type CustodyOptions, KeyCustodian, NEXT_MASTER_KEY_FILE } from "./custodian.ts";
export { KeyStoreError, MasterKeyError } from "./errors.ts";
export type { KeyStoreErrorKind, MasterKeyErrorKind } from "./errors.ts";
export { AUDIT_KEY_ID, dataKeyId, type KeyId, sessionKeyId, STATE_DB_KEY_ID } from "./key_id.ts";
export { writeKeyFile } from "./key_file.ts";
export {
  createMasterKeyFile,
  DEFAULT_SCRYPT_LOG2N,
  generateMasterKey,
  inspectMasterKeyFile,
  KEY_CUSTODY_MODES,
  type KeyCustodyMode,
  MASTER_KEY_BYTES,
  MASTER_KEY_FILE,
  type MasterKey,
  type MasterKeyFile,
  MIN_PASSPHRASE_LENGTH,
  type PassphraseSource,
  readMasterKeyFile,
} from "./master_key.ts";
export {
  createPrivateFile,
  PRIVATE_MODE,
  privateFileProblem,
  removeIfPresent,
  replacePrivateFile,
  syncDir,
  writeAll,
} from "./private_file.ts";
export { SEALED_KEYS_FILE } from "./sealed_file.ts";
export { deriveSubKey, KEY_PURPOSES, type KeyPurpose } from "./sub_keys.ts";
