/**
 * Each agent group's disk quota: its sessions' workspaces live on one
 * size-limited image, its memory on another, its sessions' outbound queues
 * on a third (`isolator/volume.ts`): every path a sandbox writes durably is
 * on one of them. A group whose memory is partitioned per person or per
 * session has its partitions on a fourth, of the memory's size, mounted only
 * when a session first needs one. They are mounted
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
import { existsSync } from "node:fs";
import { relative, resolve } from "node:path";
import {
  DEFAULT_MEMORY_BYTES,
  DEFAULT_OUTBOX_BYTES,
  DEFAULT_WORKSPACE_BYTES,
  ensureVolume,
  releaseVolume,
  type Volume,
} from "../../isolator/mod.ts";
import { logger } from "../log/mod.ts";
import { groupVolumeDirs } from "./session_dirs.ts";

/** Image sizes of one agent group. */
export interface VolumeSizes {
  /** All of the group's session workspaces together (default 1 GiB). */
  workspaceBytes: number;
  /** The group's memory (default 256 MiB). */
  memoryBytes: number;
  /** All of the group's sessions' outbound queues together (default 256 MiB). */
  outboxBytes: number;
}

/** The defaults: 1 GiB of workspace, 256 MiB of memory, 256 MiB of outbound queues per agent group. */
export const DEFAULT_VOLUME_SIZES: Readonly<VolumeSizes> = {
  workspaceBytes: DEFAULT_WORKSPACE_BYTES,
  memoryBytes: DEFAULT_MEMORY_BYTES,
  outboxBytes: DEFAULT_OUTBOX_BYTES,
};

/** A group's three volumes. */
export interface GroupVolume {
  workspace: Volume;
  memory: Volume;
  outbox: Volume;
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
  #partitioned = new Map<string, Promise<Volume>>();
  #warned = false;
  #closed = false;
  #log = logger("sandbox");

  /** `sizes: false` keeps plain directories (no quota), said once in the log. */
  constructor(root: string, sizes: VolumeSizes | false, options: { mode: number }) {
    this.#root = root;
    this.#sizes = sizes;
    this.#mode = options.mode;
    OPEN.set(resolve(root), this);
  }

  /**
   * The group's volumes, mounted (or reused) on the first call; a failure is
   * retried on the next. Rejects once closed: a launch that races the close
   * must not mount what nothing would unmount.
   */
  ensure(agentGroupId: string): Promise<GroupVolume> {
    return this.#once(this.#groups, agentGroupId, () => this.#mount(agentGroupId));
  }

  /**
   * The group's partitioned-memory volume (its `user` and `session` memory
   * partitions), mounted (or reused) on the first call, like {@link ensure}.
   */
  ensurePartitioned(agentGroupId: string): Promise<Volume> {
    return this.#once(this.#partitioned, agentGroupId, async () => {
      const dirs = groupVolumeDirs(this.#root, agentGroupId);
      const [volume] = await this.#mountAll(agentGroupId, [[
        "memory",
        dirs.partitionedMemoryImage,
        dirs.partitionedMemoryMount,
      ]]);
      return volume;
    });
  }

  #once<T>(map: Map<string, Promise<T>>, agentGroupId: string, mount: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new Error(`the sandbox volumes under ${this.#root} are closed`));
    let pending = map.get(agentGroupId);
    if (!pending) {
      pending = mount();
      map.set(agentGroupId, pending);
      pending.catch(() => {
        if (map.get(agentGroupId) === pending) map.delete(agentGroupId);
      });
    }
    return pending;
  }

  async #mount(agentGroupId: string): Promise<GroupVolume> {
    const dirs = groupVolumeDirs(this.#root, agentGroupId);
    const [workspace, memory, outbox] = await this.#mountAll(agentGroupId, [
      ["workspace", dirs.workspaceImage, dirs.workspaceMount],
      ["memory", dirs.memoryImage, dirs.memoryMount],
      ["outbox", dirs.outboxImage, dirs.outboxMount],
    ]);
    return { workspace, memory, outbox };
  }

  /** Mounts each `[size, image, mount point]` of `plan` in order (all or none), or makes plain directories. */
  async #mountAll(
    agentGroupId: string,
    plan: readonly (readonly ["workspace" | "memory" | "outbox", string, string])[],
  ): Promise<Volume[]> {
    if (this.#sizes === false) {
      const reason = "disk quotas are turned off";
      this.#warnOnce(reason);
      return plan.map(([, , mountPoint]) => {
        Deno.mkdirSync(mountPoint, { recursive: true, mode: this.#mode });
        return { limited: false, mountPoint, reason };
      });
    }
    const sizes = this.#sizes;
    Deno.mkdirSync(groupVolumeDirs(this.#root, agentGroupId).imageDir, { recursive: true, mode: 0o700 });
    const mounted: Volume[] = [];
    try {
      for (const [name, image, mountPoint] of plan) {
        mounted.push(
          await ensureVolume({ image, mountPoint, sizeBytes: sizes[`${name}Bytes`], mode: this.#mode }),
        );
      }
    } catch (err) {
      for (const volume of mounted) await releaseVolume(volume.mountPoint).catch(() => {});
      throw err;
    }
    for (const volume of mounted) {
      if (volume.limited) {
        // In the message, not a property: an empty property is rendered as `""`.
        const reused = volume.reused ? " (already mounted, reused)" : "";
        this.#log.info(`agent group {agentGroupId}: {mountPoint} is a {mib} MiB ext4 image${reused}`, {
          agentGroupId,
          mountPoint: volume.mountPoint,
          mib: Math.round(volume.sizeBytes / 1024 / 1024),
        });
      } else this.#warnOnce(volume.reason);
    }
    return mounted;
  }

  #warnOnce(reason: string): void {
    if (this.#warned) return;
    this.#warned = true;
    this.#log.warn(
      "agent workspaces, memory and outbound queues are plain host directories WITHOUT a disk quota (an agent " +
        "can fill the host's disk): {reason}",
      { reason },
    );
  }

  /** Unmounts every volume this instance mounted or reused (the sandboxes using them must be stopped). */
  async close(): Promise<void> {
    this.#closed = true;
    if (OPEN.get(resolve(this.#root)) === this) OPEN.delete(resolve(this.#root));
    const groups = [...this.#groups.values(), ...this.#partitioned.values()];
    this.#groups.clear();
    this.#partitioned.clear();
    await this.#release(groups);
  }

  /**
   * Sets a deleted group's volumes aside (its sandboxes must be stopped):
   * unmounted, then its images and directories moved into
   * `<root>/deleted/<group>-<time>/`, kept for the operator and never
   * mounted for a later group of the same id. Returns that directory, or
   * undefined when the group left nothing.
   */
  async retire(agentGroupId: string): Promise<string | undefined> {
    const groups = [this.#groups.get(agentGroupId), this.#partitioned.get(agentGroupId)]
      .filter((g) => g !== undefined);
    this.#groups.delete(agentGroupId);
    this.#partitioned.delete(agentGroupId);
    await this.#release(groups);
    const dirs = groupVolumeDirs(this.#root, agentGroupId);
    const left = [
      dirs.workspaceMount,
      dirs.memoryMount,
      dirs.partitionedMemoryMount,
      dirs.outboxMount,
      dirs.workspaceImage,
      dirs.memoryImage,
      dirs.partitionedMemoryImage,
      dirs.outboxImage,
    ].filter((path) => existsSync(path));
    if (left.length === 0) return undefined;
    const aside = `${this.#root}/deleted/${agentGroupId}-${new Date().toISOString().replace(/[:.]/g, "-")}`;
    Deno.mkdirSync(aside, { recursive: true, mode: 0o700 });
    for (const path of left) {
      Deno.renameSync(path, `${aside}/${relative(this.#root, path).replaceAll("/", "_")}`);
    }
    return aside;
  }

  async #release(groups: readonly Promise<GroupVolume | Volume>[]): Promise<void> {
    for (const settled of await Promise.allSettled(groups)) {
      if (settled.status !== "fulfilled") continue;
      const volumes: Volume[] = "mountPoint" in settled.value
        ? [settled.value]
        : Object.values(settled.value);
      for (const volume of volumes) {
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
