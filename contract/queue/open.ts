/**
 * The one place queue files are opened: the raw key before any page read,
 * the role's pragmas, the probe read (a wrong key fails here), and the
 * schema check.
 *
 * @module
 */
import {
  BUSY_TIMEOUT_MS,
  PRIVATE_LOCK_READER_VFS,
  PRIVATE_LOCK_WRITER_PRAGMAS,
  READER_PRAGMAS,
  type SessionKey,
  WRITER_PRAGMAS,
} from "../cipher.ts";
import { QUEUE_FILES } from "../schema.ts";
import { Database } from "../sqlite/mod.ts";

/** What a queue open needs. `key: null` opens plaintext, for benchmark baselines only. */
export interface QueueOpenOptions {
  library: string;
  key: SessionKey | null;
  /**
   * The connection's locks are invisible to every other process (gVisor): a
   * writer opens with {@link PRIVATE_LOCK_WRITER_PRAGMAS} (only the agent's
   * outbound writer, which bumps page 1 at every commit), a reader through
   * {@link PRIVATE_LOCK_READER_VFS} (the agent's inbound reader).
   */
  privateLocks?: boolean;
}

/** Opens a queue file for writing; creates it (with `schema`) when `create` is set. */
export function openWriter(path: string, opts: QueueOpenOptions, schema?: string): Database {
  const db = Database.open(path, {
    library: opts.library,
    key: opts.key ?? undefined,
    create: schema !== undefined,
    busyTimeoutMs: BUSY_TIMEOUT_MS,
    pragmas: opts.privateLocks ? PRIVATE_LOCK_WRITER_PRAGMAS : WRITER_PRAGMAS,
  });
  if (schema !== undefined) {
    try {
      db.transaction(() => db.execScript(schema));
    } catch (err) {
      db.close();
      throw err;
    }
  }
  return db;
}

/** Opens a queue file read-only. */
export function openReader(path: string, opts: QueueOpenOptions): Database {
  return Database.open(path, {
    library: opts.library,
    key: opts.key ?? undefined,
    readOnly: true,
    busyTimeoutMs: BUSY_TIMEOUT_MS,
    pragmas: READER_PRAGMAS,
    vfs: opts.privateLocks ? PRIVATE_LOCK_READER_VFS : undefined,
  });
}

/** The two files of a session, each in its own directory (so the directory mounts can differ in mode). */
export interface QueuePaths {
  dir: string;
  inboundDir: string;
  inbound: string;
  outboundDir: string;
  outbound: string;
  /** The agent's heartbeat file, in the outbound directory (the agent writes, the host reads its age). */
  heartbeat: string;
}

/** Paths of a session's queues under `sessionDir`. */
export function queuePaths(sessionDir: string): QueuePaths {
  return {
    dir: sessionDir,
    inboundDir: `${sessionDir}/in`,
    inbound: `${sessionDir}/in/${QUEUE_FILES.inbound}`,
    outboundDir: `${sessionDir}/out`,
    outbound: `${sessionDir}/out/${QUEUE_FILES.outbound}`,
    heartbeat: `${sessionDir}/out/${QUEUE_FILES.heartbeat}`,
  };
}
