/**
 * Cipher parameters and the open discipline of queue files. Every queue open
 * on either side goes through these constants.
 *
 * @module
 */

/**
 * Pinned parameters. We rely on SQLCipher 4's defaults, which the tests
 * assert: AES-256-CBC pages authenticated with HMAC-SHA512, 4096-byte pages,
 * a 16-byte per-file salt. The key is raw (32 bytes), so no passphrase KDF runs.
 */
export const CIPHER = {
  scheme: "sqlcipher",
  majorVersion: 4,
  pageSize: 4096,
  keyBytes: 32,
  hmacAlgorithm: "HMAC_SHA512",
  kdfAlgorithm: "PBKDF2_HMAC_SHA512",
} as const;

/** How long a statement waits on another connection's lock. */
export const BUSY_TIMEOUT_MS = 5000;

/**
 * Writers: rollback journal in DELETE mode (WAL's shared-memory index does not
 * travel across a sandbox bind mount), full fsync, no memory mapping.
 */
export const WRITER_PRAGMAS = ["journal_mode = DELETE", "synchronous = FULL", "mmap_size = 0"] as const;

/**
 * A writer whose file locks no other process can see: the agent's outbound
 * writer under gVisor, where the Sentry keeps POSIX locks to itself and the
 * queue lease (`LEASE` in `sockets.ts`) keeps host and agent apart. It holds
 * its lock for its whole life (`locking_mode = EXCLUSIVE`: no lock, unlock,
 * hot-journal, WAL or change-counter check per transaction) and keeps its
 * journal open, truncating it at each commit (`TRUNCATE`: no journal created,
 * directory-synced and deleted per transaction). Commits are as durable as
 * {@link WRITER_PRAGMAS}' (`synchronous = FULL`; the commit point is the
 * synced truncation instead of the deletion). An exclusive connection bumps
 * the change counter only once per lock, so such a writer must change page 1
 * in every commit for other connections to notice it (the outbound writer
 * bumps `user_version`). Where the other side shares the kernel (process,
 * bubblewrap) the lock would shut it out: those writers keep {@link WRITER_PRAGMAS}.
 */
export const PRIVATE_LOCK_WRITER_PRAGMAS = [
  "journal_mode = TRUNCATE",
  "synchronous = FULL",
  "mmap_size = 0",
  "locking_mode = EXCLUSIVE",
] as const;

/**
 * The VFS of a reader whose file locks no other process can see: the agent's
 * inbound reader under gVisor. Its locks could only ever exclude the agent's
 * own connections (it has one per file); the queue lease keeps host and agent
 * apart. So it takes none (`unix-none`: no fcntl per read transaction), and it
 * still checks the file's change counter at each read transaction, so it sees
 * every host commit as before.
 */
export const PRIVATE_LOCK_READER_VFS = "unix-none";

/** Readers: refuse writes at the SQL layer too, no memory mapping (always read the file). */
export const READER_PRAGMAS = ["query_only = ON", "mmap_size = 0"] as const;

/** A raw 256-bit session key. */
export type SessionKey = Uint8Array & { readonly __brand: "SessionKey" };

/** Checks length and brands. */
export function asSessionKey(bytes: Uint8Array): SessionKey {
  if (bytes.length !== CIPHER.keyBytes) {
    throw new Error(`a session key is ${CIPHER.keyBytes} bytes, got ${bytes.length}`);
  }
  return bytes as SessionKey;
}

/** Lower-case hex, the hand-off file form. */
export function sessionKeyHex(key: SessionKey): string {
  return Array.from(key, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Reads a key file's bytes: 64 hex characters (whitespace trimmed) or exactly 32 raw bytes. */
export function parseSessionKeyFile(bytes: Uint8Array): SessionKey {
  const text = new TextDecoder("latin1").decode(bytes).trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) {
    return asSessionKey(Uint8Array.from(text.match(/../g)!, (h) => parseInt(h, 16)));
  }
  if (bytes.length === CIPHER.keyBytes) return asSessionKey(bytes.slice());
  throw new Error("a session key file holds 64 hex characters or 32 raw bytes");
}
