/**
 * Where a session's sandbox finds things on the host, under the sandbox
 * root (`<state-dir>/sandbox`): its host-owned sockets, its workspace and its
 * agent group's durable memory.
 * A group's session workspaces share one directory, `workspaces/<group>`, so
 * that one size-limited volume can hold them all (`group_volumes.ts`); its
 * memory is `memory/<group>`, another volume; its sessions' outbound queues
 * are on a third, `outbox/<group>`; the images are in `volumes/`.
 *
 * @module
 */
import { isSafeId } from "../../contract/ids.ts";

/** The host paths of one session's sandbox. */
export interface SessionDirs {
  /** The model proxy's and doorbell's sockets. */
  socketDir: string;
  /** The session's workspace (on its group's workspace volume): the user's files only. */
  workspaceDir: string;
  /** The agent group's memory, shared by its sessions (`group` partition; see {@link partitionedMemoryDir}). */
  memoryDir: string;
}

function safe(kind: string, id: string): string {
  if (!isSafeId(id)) throw new Error(`${kind} ${JSON.stringify(id)} is not a safe id`);
  return id;
}

/** The paths of session `sessionId` of agent group `agentGroupId` under `root` (nothing is created). */
export function sessionDirs(root: string, sessionId: string, agentGroupId: string): SessionDirs {
  const sid = safe("session id", sessionId);
  const group = groupVolumeDirs(root, agentGroupId);
  return {
    socketDir: `${root}/run/${sid}`,
    workspaceDir: `${group.workspaceMount}/${sid}`,
    memoryDir: group.memoryMount,
  };
}

/** Where an agent group's volumes are mounted, and their image files. */
export interface GroupVolumeDirs {
  workspaceMount: string;
  memoryMount: string;
  /** The group's `user` and `session` memory partitions, one directory each (see {@link partitionedMemoryDir}). */
  partitionedMemoryMount: string;
  /** The group's sessions' outbound queues, one directory each (see {@link outboxDir}). */
  outboxMount: string;
  imageDir: string;
  workspaceImage: string;
  memoryImage: string;
  partitionedMemoryImage: string;
  outboxImage: string;
}

/** The volume paths of agent group `agentGroupId` under `root` (nothing is created). */
export function groupVolumeDirs(root: string, agentGroupId: string): GroupVolumeDirs {
  const group = safe("agent group id", agentGroupId);
  return {
    workspaceMount: `${root}/workspaces/${group}`,
    memoryMount: `${root}/memory/${group}`,
    partitionedMemoryMount: `${root}/partitioned-memory/${group}`,
    outboxMount: `${root}/outbox/${group}`,
    imageDir: `${root}/volumes`,
    workspaceImage: `${root}/volumes/${group}.workspace.img`,
    memoryImage: `${root}/volumes/${group}.memory.img`,
    partitionedMemoryImage: `${root}/volumes/${group}.partitioned-memory.img`,
    outboxImage: `${root}/volumes/${group}.outbox.img`,
  };
}

/**
 * The memory directory of one person or one session of agent group
 * `agentGroupId` under `root` (nothing is created): on the group's
 * partitioned-memory volume, never its shared one, so no partition can
 * see another's or the group's files (the volume's root, which holds them
 * all, is host-owned and never bound into a sandbox). A person is named by a
 * hash of their user id (user ids hold `:` and any other printable
 * character); a session by its safe id.
 */
export async function partitionedMemoryDir(
  root: string,
  at: {
    agentGroupId: string;
    owner: { kind: "user"; userId: string } | { kind: "session"; sessionId: string };
  },
): Promise<string> {
  const mount = groupVolumeDirs(root, at.agentGroupId).partitionedMemoryMount;
  const { owner } = at;
  if (owner.kind === "session") return `${mount}/session/${safe("session id", owner.sessionId)}`;
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(owner.userId)),
  );
  const hex = Array.from(digest.slice(0, 16), (b) => b.toString(16).padStart(2, "0")).join("");
  return `${mount}/user/${hex}`;
}

/**
 * Where the host stages files for agent group `agentGroupId`'s workspaces
 * under `root` (nothing is created): a directory on the group's workspace
 * volume, so a staged file can be hard-linked into a session's workspace
 * (same filesystem, counted in the same quota), yet outside every session's
 * directory, so no agent sees or touches it there. Session ids never start
 * with a dot, so it cannot be a session's.
 */
export function workspaceStagingDir(root: string, agentGroupId: string): string {
  return `${groupVolumeDirs(root, agentGroupId).workspaceMount}/.staging`;
}

/**
 * Where session `sessionId`'s outbound queue directory lives under `root`
 * (nothing is created): on its agent group's outbox volume, so what the
 * agent writes there counts in a quota, and a full workspace or memory
 * still leaves it room to reply.
 */
export function outboxDir(root: string, agentGroupId: string, sessionId: string): string {
  return `${groupVolumeDirs(root, agentGroupId).outboxMount}/${safe("session id", sessionId)}`;
}

/**
 * Creates the directories. With a `sandboxOwner` (the sandbox's uid, when
 * the agent runs as another user than the host) the socket directory is
 * handed to it and all three are 0711: bwrap, which drops every capability
 * before it enters the workspace, must be able to traverse them, and the
 * isolator hands workspace and memory to the sandbox's uid. Nothing is
 * listable by others, and the state directory above them is 0700. Without
 * one they are 0700.
 */
export function ensureSessionDirs(dirs: SessionDirs, sandboxOwner?: { uid: number; gid: number }): void {
  const mode = sandboxOwner ? 0o711 : 0o700;
  for (const dir of [dirs.socketDir, dirs.workspaceDir, dirs.memoryDir]) {
    Deno.mkdirSync(dir, { recursive: true, mode });
    Deno.chmodSync(dir, mode);
  }
  if (sandboxOwner) Deno.chownSync(dirs.socketDir, sandboxOwner.uid, sandboxOwner.gid);
}
