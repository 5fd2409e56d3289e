/**
 * The stage of one verification run: a throwaway session laid out exactly as
 * the sandbox manager lays out a real one (`src/sandbox/session_dirs.ts`, its
 * group's size-limited volumes through `GroupVolumes`), its queues and key,
 * a sibling session whose queue, key and model socket the probe must not
 * reach, and a decoy host state directory (a master key, sealed keys) to steal.
 *
 * @module
 */
import { asSessionKey, type SessionKey } from "../../contract/cipher.ts";
import { provisionSession, type QueuePaths, sessionQueuePaths } from "../../contract/queue/host.ts";
import { SANDBOX_GID, SANDBOX_UID, type Volume } from "../../isolator/mod.ts";
import { MASTER_KEY_FILE } from "../keys/mod.ts";
import { ensureSessionDirs, GroupVolumes, outboxDir, type SessionDirs, sessionDirs } from "../sandbox/mod.ts";
import { homeOutbound } from "../session/mod.ts";

/**
 * The workspace volume of a verification run: as an agent group's, but small,
 * so the probe (which writes up to 64 MiB) fills it quickly.
 */
export const VERIFY_WORKSPACE_BYTES = 32 * 1024 * 1024;
const VERIFY_MEMORY_BYTES = 16 * 1024 * 1024;
const VERIFY_OUTBOX_BYTES = 16 * 1024 * 1024;

/** All of the run's volumes together: the most the probe can take of the host's disk. */
export const VERIFY_VOLUME_BYTES = VERIFY_WORKSPACE_BYTES + VERIFY_MEMORY_BYTES + VERIFY_OUTBOX_BYTES;

/** The agent group the throwaway session belongs to. */
const VERIFY_GROUP = "verify";

/** The throwaway session and everything planted around it. */
export interface Stage {
  /** The run's random nonce (names sessions, markers, the release file). */
  nonce: string;
  sessionId: string;
  /** The session's key, as the host wrote it. */
  key: SessionKey;
  /** The session's queue files. */
  queue: QueuePaths;
  /** The session's sockets, workspace and memory (on its group's volumes). */
  dirs: SessionDirs;
  /** The workspace volume (size-limited, or why not). */
  workspace: Volume;
  /** The memory volume (size-limited, or why not). */
  memory: Volume;
  /** The outbox volume the session's outbound queue is on (size-limited, or why not). */
  outbox: Volume;
  /** The sibling session: its id, queue, key file and socket directory. */
  sibling: { sessionId: string; agentGroupId: string; queue: QueuePaths; keyFile: string; socketDir: string };
  /** A decoy host state directory: its master key and sealed keys. */
  decoyState: { dir: string; masterKey: string; sealedKeys: string };
  /** A session of the run's agent group that claims a warm spare (the `spare-*` walls): its id, key and queue. */
  claimant: { sessionId: string; key: SessionKey; queue: QueuePaths };
  /** The run's agent group. */
  agentGroupId: string;
}

/** Random hex of `bytes` bytes. */
export function randomHex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/**
 * Lays out the stage under `root` (the run's sandbox root), registering the
 * unmounting of its volumes with `defer`.
 */
export async function stageSession(
  root: string,
  options: { library: string; defer: (cleanup: () => Promise<void>) => void },
): Promise<Stage> {
  const nonce = randomHex(8);
  const sessionId = `verify_${nonce}`;
  const siblingId = `sibling_${nonce}`;
  const siblingGroup = `sibling-group-${nonce}`;
  // As root the agent runs as the sandbox's uid, exactly as the control plane arranges it.
  const sandboxOwner = Deno.uid() === 0 ? { uid: SANDBOX_UID, gid: SANDBOX_GID } : undefined;
  const key = asSessionKey(crypto.getRandomValues(new Uint8Array(32)));
  const queueOpts = { library: options.library, key, sandboxUid: SANDBOX_UID, sandboxGid: SANDBOX_GID };

  // The group's volumes first, then the session's directories and outbound queue on them, as the sandbox
  // manager and the queue store do.
  const volumes = new GroupVolumes(
    root,
    {
      workspaceBytes: VERIFY_WORKSPACE_BYTES,
      memoryBytes: VERIFY_MEMORY_BYTES,
      outboxBytes: VERIFY_OUTBOX_BYTES,
    },
    { mode: 0o711 },
  );
  options.defer(() => volumes.close());
  const { workspace, memory, outbox } = await volumes.ensure(VERIFY_GROUP);
  const outboundHome = outbox.limited ? outboxDir(root, VERIFY_GROUP, sessionId) : undefined;
  if (outboundHome) homeOutbound(sessionQueuePaths(`${root}/queues`, sessionId).outboundDir, outboundHome);
  const queue = provisionSession(`${root}/queues`, sessionId, { ...queueOpts, outboundDir: outboundHome });
  const siblingQueue = provisionSession(`${root}/queues`, siblingId, {
    ...queueOpts,
    key: asSessionKey(crypto.getRandomValues(new Uint8Array(32))),
  });
  const claimantKey = asSessionKey(crypto.getRandomValues(new Uint8Array(32)));
  const claimantId = `claimant_${nonce}`;
  const claimantQueue = provisionSession(`${root}/queues`, claimantId, { ...queueOpts, key: claimantKey });
  const keyFile = `${root}/keys/${siblingId}/session.key`;
  Deno.mkdirSync(`${root}/keys/${siblingId}`, { recursive: true, mode: 0o700 });
  Deno.writeTextFileSync(keyFile, randomHex(32), { mode: 0o600 });

  const decoyDir = `${root}/state`;
  const decoyState = {
    dir: decoyDir,
    masterKey: `${decoyDir}/${MASTER_KEY_FILE}`,
    sealedKeys: `${decoyDir}/sealed-keys.json`,
  };
  Deno.mkdirSync(decoyDir, { mode: 0o700 });
  Deno.writeFileSync(decoyState.masterKey, crypto.getRandomValues(new Uint8Array(32)), { mode: 0o600 });
  Deno.writeTextFileSync(decoyState.sealedKeys, JSON.stringify({ decoy: randomHex(32) }), { mode: 0o600 });

  const dirs = sessionDirs(root, sessionId, VERIFY_GROUP);
  ensureSessionDirs(dirs, sandboxOwner);
  // The sibling's model socket sits beside the session's, where the sandbox manager would put it.
  const siblingDirs = sessionDirs(root, siblingId, siblingGroup);
  ensureSessionDirs(siblingDirs, sandboxOwner);

  return {
    nonce,
    sessionId,
    key,
    queue,
    dirs,
    workspace,
    memory,
    outbox,
    sibling: {
      sessionId: siblingId,
      agentGroupId: siblingGroup,
      queue: siblingQueue,
      keyFile,
      socketDir: siblingDirs.socketDir,
    },
    decoyState,
    claimant: { sessionId: claimantId, key: claimantKey, queue: claimantQueue },
    agentGroupId: VERIFY_GROUP,
  };
}
