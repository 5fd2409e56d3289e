/**
 * The host master key file, in one of two custody modes:
 *
 * - `passphrase`: ASCII magic `ICKMASTERP`, the scrypt cost (log2 N, r, p),
 *   a 16-byte salt, a 12-byte nonce and the 32-byte key sealed with
 *   AES-256-GCM under scrypt(passphrase, salt) (the header is the AAD). A copy
 *   of the state directory does not hold the key without the passphrase.
 * - `file` (development, weak): ASCII magic `ICKMASTER1` followed by the 32
 *   key bytes in the clear, protected only by the file's mode.
 *
 * scrypt is memory-hard (N = 2^17, r = 8: 128 MiB and about a second per
 * guess), so a copied disk cannot be brute-forced on GPUs the way a PBKDF2
 * count can; it is Deno's built-in `node:crypto` scrypt, no extra dependency.
 * Both files are owner-only; loading refuses anything else rather than guess.
 *
 * @module
 */
import { scrypt } from "node:crypto";
import { MasterKeyError } from "./errors.ts";
import { createPrivateFile, privateFileProblem, replacePrivateFile } from "./private_file.ts";

/** The master key's file name inside the state directory. */
export const MASTER_KEY_FILE = "host-master.key";

/** Bytes in a master key. */
export const MASTER_KEY_BYTES = 32;

/** How the master key is kept at rest. */
export type KeyCustodyMode = "file" | "passphrase";

/** Every custody mode, strongest first. */
export const KEY_CUSTODY_MODES = ["passphrase", "file"] as const satisfies readonly KeyCustodyMode[];

/** The shortest passphrase a new wrapping accepts. */
export const MIN_PASSPHRASE_LENGTH = 8;

/** scrypt cost of a new wrapping, as log2 N (r = 8, p = 1): 128 MiB of memory per guess. */
export const DEFAULT_SCRYPT_LOG2N = 17;
/** The cheapest cost a wrapped file may claim (a file cannot talk the host into a weak KDF). */
const MIN_SCRYPT_LOG2N = 14;
const MAX_SCRYPT_LOG2N = 20;
const SCRYPT_R = 8;
const SCRYPT_P = 1;

const encoder = new TextEncoder();
const PLAIN_MAGIC = encoder.encode("ICKMASTER1");
const WRAPPED_MAGIC = encoder.encode("ICKMASTERP");
const SALT_BYTES = 16;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const PLAIN_BYTES = PLAIN_MAGIC.length + MASTER_KEY_BYTES;
/** magic, log2 N, r, p, salt, nonce: authenticated, not secret. */
const WRAPPED_HEADER_BYTES = WRAPPED_MAGIC.length + 3 + SALT_BYTES + IV_BYTES;
const WRAPPED_BYTES = WRAPPED_HEADER_BYTES + MASTER_KEY_BYTES + TAG_BYTES;

/** 32 bytes of host master key. Only ever held in memory or in its own file. */
export type MasterKey = Uint8Array<ArrayBuffer> & { readonly __brand: "MasterKey" };

/** How a master key file is written: in the clear (`file`) or wrapped under a passphrase. */
export type MasterKeyLock =
  | { mode: "file" }
  | { mode: "passphrase"; passphrase: string; scryptLog2N?: number };

/** Asks for the passphrase when one is needed (`new`: it will wrap a key for the first time). */
export type PassphraseSource = (purpose: "unlock" | "new") => Promise<string>;

/** A fresh random master key. */
export function generateMasterKey(): MasterKey {
  return crypto.getRandomValues(new Uint8Array(MASTER_KEY_BYTES)) as MasterKey;
}

/** Writes `key` to a new master file at `path` (mode 0600, durable); fails if `path` exists. */
export async function createMasterKeyFile(
  path: string,
  key: MasterKey,
  lock: MasterKeyLock = { mode: "file" },
): Promise<void> {
  const bytes = await encodeMasterKey(path, key, lock);
  try {
    await createPrivateFile(path, bytes);
  } finally {
    bytes.fill(0);
  }
}

/** Atomically replaces the master file at `path` with `key` kept under `lock` (a change of custody). */
export async function replaceMasterKeyFile(path: string, key: MasterKey, lock: MasterKeyLock): Promise<void> {
  const bytes = await encodeMasterKey(path, key, lock);
  try {
    await replacePrivateFile(path, bytes);
  } finally {
    bytes.fill(0);
  }
}

async function encodeMasterKey(path: string, key: MasterKey, lock: MasterKeyLock): Promise<Uint8Array> {
  if (lock.mode === "file") {
    const bytes = new Uint8Array(PLAIN_BYTES);
    bytes.set(PLAIN_MAGIC);
    bytes.set(key, PLAIN_MAGIC.length);
    return bytes;
  }
  if ([...lock.passphrase].length < MIN_PASSPHRASE_LENGTH) {
    throw new MasterKeyError(
      "weak_passphrase",
      path,
      `the master-key passphrase must be at least ${MIN_PASSPHRASE_LENGTH} characters`,
    );
  }
  const header = new Uint8Array(WRAPPED_HEADER_BYTES);
  header.set(WRAPPED_MAGIC);
  header.set([lock.scryptLog2N ?? DEFAULT_SCRYPT_LOG2N, SCRYPT_R, SCRYPT_P], WRAPPED_MAGIC.length);
  crypto.getRandomValues(header.subarray(WRAPPED_MAGIC.length + 3));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv: ivOf(header), additionalData: header },
    await wrappingKey(lock.passphrase, header),
    key,
  );
  const bytes = new Uint8Array(WRAPPED_BYTES);
  bytes.set(header);
  bytes.set(new Uint8Array(sealed), WRAPPED_HEADER_BYTES);
  return bytes;
}

/** A master key file as found on disk, not yet unlocked. */
export interface MasterKeyFile {
  path: string;
  custody: KeyCustodyMode;
  bytes: Uint8Array<ArrayBuffer>;
}

/**
 * Reads the master key file at `path` without unlocking it. Throws
 * {@linkcode MasterKeyError} when the file is missing, not a regular file,
 * open to group or other, of the wrong length, or lacks either magic.
 */
export async function inspectMasterKeyFile(path: string): Promise<MasterKeyFile> {
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
    if (info.size !== PLAIN_BYTES && info.size !== WRAPPED_BYTES) {
      throw new MasterKeyError(
        "length",
        path,
        `${path} must be ${WRAPPED_BYTES} bytes (passphrase custody) or ${PLAIN_BYTES} (file custody), found ${info.size}`,
      );
    }
    const bytes = new Uint8Array(info.size);
    let read = 0;
    while (read < bytes.length) {
      const n = await file.read(bytes.subarray(read));
      if (n === null) break;
      read += n;
    }
    if (read !== bytes.length) {
      bytes.fill(0);
      throw new MasterKeyError("length", path, `${path} must be ${bytes.length} bytes, read ${read}`);
    }
    const custody = startsWith(bytes, WRAPPED_MAGIC) && bytes.length === WRAPPED_BYTES
      ? "passphrase"
      : startsWith(bytes, PLAIN_MAGIC) && bytes.length === PLAIN_BYTES
      ? "file"
      : undefined;
    if (!custody) {
      bytes.fill(0);
      throw new MasterKeyError("magic", path, `${path} is not an IronClaw master key (bad magic)`);
    }
    return { path, custody, bytes };
  } finally {
    file.close();
  }
}

/**
 * The key in `file`: read directly in `file` custody, unwrapped with the
 * passphrase `ask` gives in `passphrase` custody. Throws
 * {@linkcode MasterKeyError} `locked` when a passphrase is needed and there
 * is no `ask`, `passphrase` when it does not open the key. Zeroes `file.bytes`.
 */
export async function unlockMasterKey(
  file: MasterKeyFile,
  ask?: PassphraseSource,
): Promise<{ key: MasterKey; passphrase?: string }> {
  const { path, bytes } = file;
  try {
    if (file.custody === "file") return { key: bytes.slice(PLAIN_MAGIC.length) as MasterKey };
    if (!ask) {
      throw new MasterKeyError("locked", path, `${path} is under a passphrase and no passphrase was given`);
    }
    const header = bytes.slice(0, WRAPPED_HEADER_BYTES);
    const [log2N, r, p] = header.subarray(WRAPPED_MAGIC.length, WRAPPED_MAGIC.length + 3);
    if (log2N < MIN_SCRYPT_LOG2N || log2N > MAX_SCRYPT_LOG2N || r !== SCRYPT_R || p !== SCRYPT_P) {
      throw new MasterKeyError(
        "magic",
        path,
        `${path} names an unsupported scrypt cost (${log2N}, ${r}, ${p})`,
      );
    }
    const passphrase = await ask("unlock");
    try {
      const key = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: ivOf(header), additionalData: header },
        await wrappingKey(passphrase, header),
        bytes.subarray(WRAPPED_HEADER_BYTES),
      );
      return { key: new Uint8Array(key) as MasterKey, passphrase };
    } catch {
      throw new MasterKeyError(
        "passphrase",
        path,
        `the passphrase does not open ${path} (wrong passphrase?)`,
      );
    }
  } finally {
    bytes.fill(0);
  }
}

/** Reads and unlocks the master key at `path` (see {@linkcode inspectMasterKeyFile}, {@linkcode unlockMasterKey}). */
export async function readMasterKeyFile(
  path: string,
  ask?: PassphraseSource,
): Promise<{ key: MasterKey; custody: KeyCustodyMode; passphrase?: string }> {
  const file = await inspectMasterKeyFile(path);
  return { ...await unlockMasterKey(file, ask), custody: file.custody };
}

function ivOf(header: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  return header.slice(WRAPPED_HEADER_BYTES - IV_BYTES);
}

/** AES-256-GCM key = scrypt(passphrase, salt; N, r, p from the header). */
async function wrappingKey(passphrase: string, header: Uint8Array): Promise<CryptoKey> {
  const at = WRAPPED_MAGIC.length;
  const [log2N, r, p] = header.subarray(at, at + 3);
  const salt = header.slice(at + 3, at + 3 + SALT_BYTES);
  const raw = await scryptBytes(passphrase, salt, { log2N, r, p });
  try {
    return await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
  } finally {
    raw.fill(0);
  }
}

/** 32 bytes of scrypt (RFC 7914) output. */
export function scryptBytes(
  passphrase: string,
  salt: Uint8Array,
  cost: { log2N: number; r: number; p: number; length?: number },
): Promise<Uint8Array<ArrayBuffer>> {
  const N = 2 ** cost.log2N;
  return new Promise((resolve, reject) =>
    scrypt(
      passphrase.normalize("NFC"),
      salt,
      cost.length ?? 32,
      // scrypt needs 128·N·r bytes (plus p·128·r); node's default ceiling is 32 MiB.
      { N, r: cost.r, p: cost.p, maxmem: 128 * N * cost.r + 128 * cost.r * cost.p + 1024 * 1024 },
      (err, key) => err ? reject(err) : resolve(new Uint8Array(key)),
    )
  );
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  return prefix.every((b, i) => bytes[i] === b);
}
