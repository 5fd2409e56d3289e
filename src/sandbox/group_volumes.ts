/**
 * Each agent group's disk quota: its sessions' workspaces live on one
 * size-limited image, its memory on another (`isolator/volume.ts`), mounted
 * on the first launch of the group and reused by its later sessions,
 * unmounted when the sandbox manager closes. Where loop mounts are not
 * possible (not root, no loop devices) the directories stay plain, and a
 * warning says the agent can fill the host's disk.
 *
 * A host-side writer that puts files into a session's workspace before its
 * sandbox starts (a channel's inbound attachment) mounts through
 * {@link ensureGroupVolumes}: the same instance, so the same single mount,
 * as the launches, and never a file in the directory a later mount would
 * hide.
 *
 * @module
 */
import { resolve } from "node:path";
import {
  DEFAULT_MEMORY_BYTES,
  DEFAULT_WORKSPACE_BYTES,
  ensureVolume,
  releaseVolume,
  type Volume,
} from "../../isolator/volume.ts";
import { logger } from "../log/mod.ts";
import { groupVolumeDirs } from "./session_dirs.ts";

/** Image sizes of one agent group. */
export interface VolumeSizes {
  /** All of the group's session workspaces together (default 1 GiB). */
  workspaceBytes: number;
  /** The group's memory (default 256 MiB). */
  memoryBytes: number;
}

/** The defaults: 1 GiB of workspace, 256 MiB of memory per agent group. */
export const DEFAULT_VOLUME_SIZES: Readonly<VolumeSizes> = {
  workspaceBytes: DEFAULT_WORKSPACE_BYTES,
  memoryBytes: DEFAULT_MEMORY_BYTES,
};

/** A group's two volumes. */
export interface GroupVolume {
  workspace: Volume;
  memory: Volume;
}

/**
 * The open instance of each sandbox root in this process (the sandbox
 * manager's), for {@link ensureGroupVolumes}. A second instance of its own
 * would mount the same image a second time, or unmount it under running
 * sandboxes when it closes.
 */
const OPEN = new Map<string, GroupVolumes>();

/** Mounts agent groups' volumes once each, and unmounts them all on close. */
export class GroupVolumes {
  #root: string;
  #sizes: VolumeSizes | false;
  #mode: number;
  #groups = new Map<string, Promise<GroupVolume>>();
  #warned = false;
  #log = logger("sandbox");

  /** `sizes: false` keeps plain directories (no quota), said once in the log. */
  constructor(root: string, sizes: VolumeSizes | false, options: { mode: number }) {
    this.#root = root;
    this.#sizes = sizes;
    this.#mode = options.mode;
    OPEN.set(resolve(root), this);
  }

  /** The group's volumes, mounted (or reused) on the first call; a failure is retried on the next. */
  ensure(agentGroupId: string): Promise<GroupVolume> {
    let pending = this.#groups.get(agentGroupId);
    if (!pending) {
      pending = this.#mount(agentGroupId);
      this.#groups.set(agentGroupId, pending);
      pending.catch(() => {
        if (this.#groups.get(agentGroupId) === pending) this.#groups.delete(agentGroupId);
      });
    }
    return pending;
  }

  async #mount(agentGroupId: string): Promise<GroupVolume> {
    const dirs = groupVolumeDirs(this.#root, agentGroupId);
    if (this.#sizes === false) {
      for (const dir of [dirs.workspaceMount, dirs.memoryMount]) {
        Deno.mkdirSync(dir, { recursive: true, mode: this.#mode });
      }
      const reason = "disk quotas are turned off";
      this.#warnOnce(reason);
      return {
        workspace: { limited: false, mountPoint: dirs.workspaceMount, reason },
        memory: { limited: false, mountPoint: dirs.memoryMount, reason },
      };
    }
    Deno.mkdirSync(dirs.imageDir, { recursive: true, mode: 0o700 });
    const workspace = await ensureVolume({
      image: dirs.workspaceImage,
      mountPoint: dirs.workspaceMount,
      sizeBytes: this.#sizes.workspaceBytes,
      mode: this.#mode,
    });
    let memory: Volume;
    try {
      memory = await ensureVolume({
        image: dirs.memoryImage,
        mountPoint: dirs.memoryMount,
        sizeBytes: this.#sizes.memoryBytes,
        mode: this.#mode,
      });
    } catch (err) {
      await releaseVolume(dirs.workspaceMount).catch(() => {});
      throw err;
    }
    for (const volume of [workspace, memory]) {
      if (volume.limited) {
        this.#log.info("agent group {agentGroupId}: {mountPoint} is a {mib} MiB ext4 image{how}", {
          agentGroupId,
          mountPoint: volume.mountPoint,
          mib: Math.round(volume.sizeBytes / 1024 / 1024),
          how: volume.reused ? " (already mounted, reused)" : "",
        });
      } else this.#warnOnce(volume.reason);
    }
    return { workspace, memory };
  }

  #warnOnce(reason: string): void {
    if (this.#warned) return;
    this.#warned = true;
    this.#log.warn(
      "agent workspaces and memory are plain host directories WITHOUT a disk quota (an agent can fill the " +
        "host's disk): {reason}",
      { reason },
    );
  }

  /** Unmounts every volume this instance mounted or reused (the sandboxes using them must be stopped). */
  async close(): Promise<void> {
    if (OPEN.get(resolve(this.#root)) === this) OPEN.delete(resolve(this.#root));
    const groups = [...this.#groups.values()];
    this.#groups.clear();
    for (const settled of await Promise.allSettled(groups)) {
      if (settled.status !== "fulfilled") continue;
      for (const volume of [settled.value.workspace, settled.value.memory]) {
        if (!volume.limited) continue;
        try {
          await releaseVolume(volume.mountPoint);
        } catch (err) {
          this.#log.warn("unmounting {mountPoint}: {error}", {
            mountPoint: volume.mountPoint,
            error: String(err),
          });
        }
      }
    }
  }
}

/**
 * Agent group `agentGroupId`'s volumes, mounted (or reused) through the
 * {@link GroupVolumes} open on `root` in this process: the sandbox manager's,
 * so a file written into a session's workspace before its first launch lands
 * on the group's volume, within its quota, and is still there once the
 * sandbox starts. Rejects when no instance is open on `root` (the manager is
 * closed): nothing may then be written there.
 */
export function ensureGroupVolumes(root: string, agentGroupId: string): Promise<GroupVolume> {
  const volumes = OPEN.get(resolve(root));
  if (!volumes) return Promise.reject(new Error(`no sandbox volumes are open under ${root}`));
  return volumes.ensure(agentGroupId);
}
