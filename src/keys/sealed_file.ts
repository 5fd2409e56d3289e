/**
 * `sealed-keys.json`: every data key, sealed, with the fingerprint of the
 * master that sealed them. It never holds a raw key.
 *
 * ```json
 * {"version":1,"master":"<16 hex>","keys":{"session/ses_…":"<base64 sealed>"}}
 * ```
 *
 * @module
 */
import { z } from "zod";
import { canonicalJson } from "../../contract/json.ts";
import { KeyStoreError } from "./errors.ts";
import { type KeyId, parseKeyId } from "./key_id.ts";
import { replacePrivateFile } from "./private_file.ts";
import { SEALED_BYTES } from "./sealer.ts";

/** The sealed store's file name inside the state directory. */
export const SEALED_KEYS_FILE = "sealed-keys.json";

const SealedFileSchema = z.strictObject({
  version: z.literal(1),
  master: z.string().regex(/^[0-9a-f]{16}$/),
  keys: z.record(z.string(), z.base64()),
});

/** The file's content in memory. */
export interface SealedKeys {
  /** Fingerprint of the sealing master. */
  master: string;
  keys: ReadonlyMap<KeyId, Uint8Array>;
}

/** Reads the sealed store at `path`; undefined when it does not exist. */
export async function readSealedFile(path: string): Promise<SealedKeys | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new KeyStoreError("corrupt", `${path} is not valid JSON`);
  }
  const parsed = SealedFileSchema.safeParse(json);
  if (!parsed.success) throw new KeyStoreError("corrupt", `${path} does not match the sealed-key format`);
  const keys = new Map<KeyId, Uint8Array>();
  for (const [id, b64] of Object.entries(parsed.data.keys)) {
    const blob = Uint8Array.fromBase64(b64);
    if (blob.length !== SEALED_BYTES) {
      throw new KeyStoreError("corrupt", `${path}: sealed key ${id} has the wrong size`);
    }
    keys.set(parseKeyId(id), blob);
  }
  return { master: parsed.data.master, keys };
}

/** Replaces the sealed store at `path` atomically and durably (mode 0600). */
export async function writeSealedFile(path: string, sealed: SealedKeys): Promise<void> {
  const keys = Object.fromEntries([...sealed.keys].map(([id, blob]) => [id, blob.toBase64()]));
  const text = canonicalJson({ version: 1, master: sealed.master, keys }) + "\n";
  await replacePrivateFile(path, new TextEncoder().encode(text));
}
