/**
 * The vault: secrets for third-party APIs, sealed host-side under the key
 * custodian's `vault` data key, injected by the egress broker into the
 * requests a human granted, never entering a sandbox.
 *
 * @example
 * ```ts ignore
 * const vault = new VaultStore(state, await keys.getOrCreate(VAULT_KEY_ID));
 * await vault.set("github", tokenFromStdin);
 * ```
 *
 * @module
 */
import { dataKeyId, type KeyId } from "../keys/mod.ts";

export {
  MAX_SECRET_BYTES,
  type VaultEntry,
  type VaultHeader,
  VaultStore,
  VaultValueError,
} from "./vault_store.ts";

/** The custodian's data key that seals the vault's values. */
export const VAULT_KEY_ID: KeyId = dataKeyId("vault");
