/**
 * The host master key file: ASCII magic `ICKMASTER1` followed by 32 random
 * bytes, owner-only. Loading refuses anything else rather than guess.
 *
 * @module
 */
import { MasterKeyError } from "./errors.ts";
import { createPrivateFile, privateFileProblem } from "./private_file.ts";

/** The master key's file name inside the state directory. */
export const MASTER_KEY_FILE = "host-master.key";

/** Bytes in a master key. */
export const MASTER_KEY_BYTES = 32;

const MAGIC = new TextEncoder().encode("ICKMASTER1");
const FILE_BYTES = MAGIC.length + MASTER_KEY_BYTES;

/** 32 bytes of host master key. Only ever held in memory or in its own file. */
export type MasterKey = Uint8Array<ArrayBuffer> & { readonly __brand: "MasterKey" };

/** A fresh random master key. */
export function generateMasterKey(): MasterKey {
  return crypto.getRandomValues(new Uint8Array(MASTER_KEY_BYTES)) as MasterKey;
}

/** Writes `key` to a new master file at `path` (mode 0600, durable); fails if `path` exists. */
export async function createMasterKeyFile(path: string, key: MasterKey): Promise<void> {
  const bytes = new Uint8Array(FILE_BYTES);
  bytes.set(MAGIC);
  bytes.set(key, MAGIC.length);
  try {
    await createPrivateFile(path, bytes);
  } finally {
    bytes.fill(0);
  }
}

/**
 * Reads the master key at `path`. Throws {@linkcode MasterKeyError} when the
 * file is missing, not a regular file, open to group or other, not 42 bytes,
 * or lacks the magic.
 */
export async function readMasterKeyFile(path: string): Promise<MasterKey> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new MasterKeyError("missing", path, `${path} does not exist`);
    }
    throw err;
  }
  try {
    // Checked on the open handle, so the file read is the file checked.
    const info = await file.stat();
    const problem = privateFileProblem(path, info);
    if (problem) {
      throw new MasterKeyError(info.isFile ? "permissions" : "not_file", path, `${path} ${problem}`);
    }
    if (info.size !== FILE_BYTES) {
      throw new MasterKeyError("length", path, `${path} must be ${FILE_BYTES} bytes, found ${info.size}`);
    }
    const bytes = new Uint8Array(FILE_BYTES);
    let read = 0;
    while (read < FILE_BYTES) {
      const n = await file.read(bytes.subarray(read));
      if (n === null) break;
      read += n;
    }
    try {
      if (read !== FILE_BYTES) {
        throw new MasterKeyError("length", path, `${path} must be ${FILE_BYTES} bytes, read ${read}`);
      }
      if (!MAGIC.every((b, i) => bytes[i] === b)) {
        throw new MasterKeyError("magic", path, `${path} is not an IronClaw master key (bad magic)`);
      }
      return bytes.slice(MAGIC.length) as MasterKey;
    } finally {
      bytes.fill(0);
    }
  } finally {
    file.close();
  }
}
