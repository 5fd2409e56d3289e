/**
 * Sub-keys: HMAC-SHA256(master, purpose). Each use of the master gets its
 * own purpose string, so no two uses ever share key material.
 *
 * A sub-key changes when the master is rotated. Anything that must outlive
 * a rotation (an encrypted database, say) takes a sealed data key from the
 * custodian instead.
 *
 * @module
 */
import type { MasterKey } from "./master_key.ts";

/** Every purpose the master key serves. Versioned so a scheme change gets fresh keys. */
export const KEY_PURPOSES = {
  /** Wraps the custodian's data keys (AES-256-GCM). */
  keySeal: "ironclaw/key-seal/v1",
  /** Authenticates host-issued reports (HMAC-SHA256). */
  reportHmac: "ironclaw/report-hmac/v1",
} as const;

/** One of {@linkcode KEY_PURPOSES}. */
export type KeyPurpose = typeof KEY_PURPOSES[keyof typeof KEY_PURPOSES];

/** Derives the 32-byte sub-key of `master` for `purpose`. */
export async function deriveSubKey(master: MasterKey, purpose: KeyPurpose): Promise<Uint8Array<ArrayBuffer>> {
  const hmac = await crypto.subtle.importKey("raw", master, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", hmac, new TextEncoder().encode(purpose)));
}
