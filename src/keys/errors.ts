/**
 * Typed key-custody failures. Messages name files and ids, never key bytes.
 *
 * @module
 */

/** Why a master key file was refused. */
export type MasterKeyErrorKind =
  | "missing"
  | "not_file"
  | "permissions"
  | "length"
  | "magic"
  /** Under a passphrase, and none was given. */
  | "locked"
  /** The passphrase does not open the key. */
  | "passphrase"
  /** Too short to wrap a new key under. */
  | "weak_passphrase"
  /** A plain key file where passphrase custody was required. */
  | "plain";

/** A master key file that is absent or unfit to use. */
export class MasterKeyError extends Error {
  override name = "MasterKeyError";
  constructor(readonly kind: MasterKeyErrorKind, readonly path: string, message: string) {
    super(message);
  }
}

/** Why the sealed-key store failed. */
export type KeyStoreErrorKind = "bad_id" | "corrupt" | "wrong_master" | "missing_master";

/** A sealed-key store that cannot be used as it stands. */
export class KeyStoreError extends Error {
  override name = "KeyStoreError";
  constructor(readonly kind: KeyStoreErrorKind, message: string) {
    super(message);
  }
}
