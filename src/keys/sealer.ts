/**
 * Wraps data keys under the master's seal sub-key with AES-256-GCM. A sealed
 * blob is `nonce (12) ‖ ciphertext+tag (48)`; the key's id is the additional
 * data, so a blob moved onto another id fails authentication.
 *
 * @module
 */
import { asSessionKey, CIPHER, type SessionKey } from "../../contract/cipher.ts";
import { KeyStoreError } from "./errors.ts";
import type { KeyId } from "./key_id.ts";
import type { MasterKey } from "./master_key.ts";
import { deriveSubKey, KEY_PURPOSES } from "./sub_keys.ts";

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** Bytes in a sealed data key. */
export const SEALED_BYTES = NONCE_BYTES + CIPHER.keyBytes + TAG_BYTES;

/** Seals and unseals data keys under one master. */
export class Sealer {
  private constructor(
    /** First 16 hex of SHA-256 of the seal sub-key: names the master without revealing it. */
    readonly fingerprint: string,
    private readonly key: CryptoKey,
  ) {}

  /** The sealer of `master`. */
  static async for(master: MasterKey): Promise<Sealer> {
    const sub = await deriveSubKey(master, KEY_PURPOSES.keySeal);
    try {
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", sub));
      const key = await crypto.subtle.importKey("raw", sub, "AES-GCM", false, ["encrypt", "decrypt"]);
      return new Sealer(digest.toHex().slice(0, 16), key);
    } finally {
      sub.fill(0);
    }
  }

  /** Seals `key` as the data key `id`. */
  async seal(id: KeyId, key: SessionKey): Promise<Uint8Array> {
    const nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
    const sealed = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv: nonce, additionalData: new TextEncoder().encode(id) },
      this.key,
      ownBuffer(key),
    );
    const out = new Uint8Array(SEALED_BYTES);
    out.set(nonce);
    out.set(new Uint8Array(sealed), NONCE_BYTES);
    return out;
  }

  /** Opens the sealed data key `id`; throws {@linkcode KeyStoreError} if it does not authenticate. */
  async unseal(id: KeyId, blob: Uint8Array): Promise<SessionKey> {
    if (blob.length !== SEALED_BYTES) {
      throw new KeyStoreError(
        "corrupt",
        `sealed key ${id} is ${blob.length} bytes, expected ${SEALED_BYTES}`,
      );
    }
    try {
      const plain = await crypto.subtle.decrypt(
        {
          name: "AES-GCM",
          iv: ownBuffer(blob).subarray(0, NONCE_BYTES),
          additionalData: new TextEncoder().encode(id),
        },
        this.key,
        ownBuffer(blob).subarray(NONCE_BYTES),
      );
      return asSessionKey(new Uint8Array(plain));
    } catch {
      throw new KeyStoreError(
        "corrupt",
        `sealed key ${id} failed authentication (altered, or moved from another id)`,
      );
    }
  }
}

/** WebCrypto takes only views over plain ArrayBuffers; ours always are, so in practice this never copies. */
function ownBuffer(view: Uint8Array): Uint8Array<ArrayBuffer> {
  return view.buffer instanceof ArrayBuffer ? view as Uint8Array<ArrayBuffer> : new Uint8Array(view);
}
