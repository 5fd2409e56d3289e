/**
 * A consistent snapshot of a state directory, taken by whoever holds it (the
 * running control plane, or `ironclaw backup` itself when nothing serves):
 *
 * - the state database by `VACUUM INTO`: a transaction-consistent copy,
 *   encrypted under the same key (SQLCipher 4.5 measured; the copy does not
 *   open without the key);
 * - the audit log copied between appends, in the same synchronous step as
 *   the database copy, so the copy's chain ends where the copy's anchor says;
 * - each session's two queue files copied in a host turn of its lease (no
 *   agent transaction open), still encrypted under the sealed session keys;
 * - the sealed keys, and the master key file only when a passphrase wraps
 *   it: a file-custody master is the key in the clear and stays out.
 *
 * @module
 */
import { AUDIT_LOG_FILE, type AuditLog } from "../audit/mod.ts";
import { SessionId } from "../../contract/ids.ts";
import { QUEUE_FILES } from "../../contract/schema.ts";
import { inspectMasterKeyFile, MASTER_KEY_FILE, SEALED_KEYS_FILE } from "../keys/mod.ts";
import type { QueueLease } from "../session/mod.ts";
import { STATE_DB_FILE, type StateDb } from "../state/mod.ts";
import { type BackupManifest, encodeBackup } from "./archive.ts";

/** Where session queue directories live inside the state directory. */
export const SESSIONS_DIR = "sessions";

/** What a snapshot reads: the open stores of one state directory. */
export interface SnapshotSources {
  stateDir: string;
  state: StateDb;
  audit: AuditLog;
  /** The running plane's session leases; absent offline, where no agent runs. */
  lease?: (sessionId: SessionId) => QueueLease;
}

/** What a snapshot says about itself besides its bytes. */
export interface Snapshot {
  bytes: Uint8Array<ArrayBuffer>;
  manifest: Pick<BackupManifest, "masterKey" | "schemaVersion"> & { members: number; sessions: number };
}

/** Takes the snapshot and encodes it as a backup file (see `archive.ts`). */
export async function takeSnapshot(sources: SnapshotSources): Promise<Snapshot> {
  const { stateDir } = sources;
  const files = new Map<string, Uint8Array<ArrayBuffer>>();
  const scratch = await Deno.makeTempDir({ prefix: "ironclaw-backup-" });
  try {
    await sources.audit.atRest(() => {
      const copy = `${scratch}/${STATE_DB_FILE}`;
      sources.state.db.exec("VACUUM INTO ?", [copy]);
      files.set(STATE_DB_FILE, Deno.readFileSync(copy));
      files.set(AUDIT_LOG_FILE, Deno.readFileSync(`${stateDir}/${AUDIT_LOG_FILE}`));
    });
  } finally {
    await Deno.remove(scratch, { recursive: true });
  }
  files.set(SEALED_KEYS_FILE, await Deno.readFile(`${stateDir}/${SEALED_KEYS_FILE}`));
  const master = await inspectMasterKeyFile(`${stateDir}/${MASTER_KEY_FILE}`);
  if (master.custody === "passphrase") files.set(MASTER_KEY_FILE, master.bytes);

  const sessions = await sessionIds(`${stateDir}/${SESSIONS_DIR}`);
  for (const sid of sessions) {
    await sources.lease?.(sid).hold();
    // Synchronous from here: the host turn lasts until the next macrotask.
    for (const [dir, file] of [["in", QUEUE_FILES.inbound], ["out", QUEUE_FILES.outbound]]) {
      for (const name of [file, `${file}-journal`]) {
        const member = `${SESSIONS_DIR}/${sid}/${dir}/${name}`;
        const bytes = readIfPresent(`${stateDir}/${member}`);
        if (bytes) files.set(member, bytes);
      }
    }
  }
  const meta = {
    createdAt: new Date().toISOString(),
    schemaVersion: sources.state.schemaVersion,
    masterKey: master.custody === "passphrase" ? "wrapped" as const : "separate" as const,
  };
  return {
    bytes: encodeBackup(meta, files),
    manifest: { ...meta, members: files.size, sessions: sessions.length },
  };
}

/** The session directories under `root` (none when it is missing). */
async function sessionIds(root: string): Promise<SessionId[]> {
  const ids: SessionId[] = [];
  try {
    for await (const entry of Deno.readDir(root)) {
      const id = SessionId.safeParse(entry.name);
      if (entry.isDirectory && id.success) ids.push(id.data);
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return ids.sort();
}

function readIfPresent(path: string): Uint8Array<ArrayBuffer> | undefined {
  try {
    return Deno.readFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}
