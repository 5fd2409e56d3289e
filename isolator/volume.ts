/**
 * Size-limited host directories for what an agent writes durably (its
 * workspace and memory): a sparse ext4 image file, loop-mounted
 * `nosuid,nodev,noexec` on the host path the sandboxes bind in. A full image
 * fails the agent's writes with ENOSPC instead of filling the host's disk.
 *
 * Mounting is idempotent: an image already mounted on its mount point (by an
 * earlier run that crashed before unmounting) is taken over as is. Without
 * root, `mkfs.ext4` or loop devices the directory stays a plain one, and the
 * result says why, so callers can log it and `ironclaw verify` can report the
 * `workspace-disk` wall as fallen.
 *
 * @module
 */
import { exists } from "./host_dirs.ts";

/** 1 GiB: the default size of an agent group's workspace image. */
export const DEFAULT_WORKSPACE_BYTES = 1024 * 1024 * 1024;
/** 256 MiB: the default size of an agent group's memory image. */
export const DEFAULT_MEMORY_BYTES = 256 * 1024 * 1024;
/**
 * 256 MiB: the default size of an agent group's outbox image (its sessions'
 * outbound queues, which keep each conversation's history).
 */
export const DEFAULT_OUTBOX_BYTES = 256 * 1024 * 1024;
/** The smallest image mkfs.ext4 makes comfortably (with a journal). */
export const MIN_VOLUME_BYTES = 8 * 1024 * 1024;

/** Mount options: nothing on the image can be a device, setuid, or executed. */
export const VOLUME_MOUNT_OPTIONS = "loop,nosuid,nodev,noexec";

/** What {@link ensureVolume} needs. */
export interface VolumeSpec {
  /** The image file (created sparse when missing). */
  image: string;
  /** The directory to mount it on (created when missing). */
  mountPoint: string;
  /** The image's size when it is created; an existing image keeps its size. */
  sizeBytes: number;
  /** Owner of the filesystem's root directory, set on every mount. */
  owner?: { uid: number; gid: number };
  /** Mode of the filesystem's root directory (default 0700). */
  mode?: number;
  /** Mount options (default {@link VOLUME_MOUNT_OPTIONS}). */
  mountOptions?: string;
}

/** A mounted, size-limited volume, or a plain directory and why. */
export type Volume =
  | { limited: true; mountPoint: string; image: string; sizeBytes: number; reused: boolean }
  | { limited: false; mountPoint: string; reason: string };

/** Tools the volumes need; overridable for tests of the fallback. */
export interface VolumeTools {
  mkfs: string;
  mount: string;
  umount: string;
  /** Whether loop devices can be had here. */
  loopControl: string;
}

/** The default tools: e2fsprogs and util-linux, by path (root's PATH may lack /usr/sbin). */
export const DEFAULT_TOOLS: Readonly<VolumeTools> = {
  mkfs: "/usr/sbin/mkfs.ext4",
  mount: "/usr/bin/mount",
  umount: "/usr/bin/umount",
  loopControl: "/dev/loop-control",
};

/** A volume could not be made or mounted although the host should allow it. */
export class VolumeError extends Error {
  override name = "VolumeError";
}

/** Why size-limited volumes cannot be had here, or undefined when they can. */
export function volumesUnavailable(tools: VolumeTools = DEFAULT_TOOLS): string | undefined {
  if (Deno.uid() !== 0) return `loop mounts need root (running as uid ${Deno.uid()})`;
  for (const tool of [tools.mkfs, tools.mount, tools.umount]) {
    if (!exists(tool)) return `${tool} is not installed (e2fsprogs, mount)`;
  }
  if (!exists(tools.loopControl)) return `no loop devices here (${tools.loopControl} is missing)`;
  return undefined;
}

async function run(binary: string, args: string[]): Promise<{ ok: boolean; output: string }> {
  try {
    const out = await new Deno.Command(binary, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { LC_ALL: "C" },
    }).output();
    const text = new TextDecoder().decode(out.stderr).trim() || new TextDecoder().decode(out.stdout).trim();
    return { ok: out.success, output: text };
  } catch (err) {
    return { ok: false, output: (err as Error).message };
  }
}

/** `/proc/self/mountinfo` escapes space, tab, newline and backslash as octal. */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal) => String.fromCharCode(parseInt(octal, 8)));
}

/** One mount of this process's mount namespace. */
export interface MountEntry {
  mountPoint: string;
  fsType: string;
  source: string;
  options: string[];
}

/** Every mount of this process's mount namespace, in mount order. */
function mountTable(): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of Deno.readTextFileSync("/proc/self/mountinfo").split("\n")) {
    if (!line) continue;
    const [left, right] = line.split(" - ");
    const fields = left.split(" ");
    const [fsType, source] = right.split(" ");
    entries.push({
      mountPoint: unescapeMountPath(fields[4]),
      fsType,
      source: unescapeMountPath(source),
      options: fields[5].split(","),
    });
  }
  return entries;
}

/** The mounts on exactly `path` (the last one is on top). */
export function mountsAt(path: string): MountEntry[] {
  return mountTable().filter((m) => m.mountPoint === path);
}

/** The distinct mount points strictly below directory `dir` (a real path), deepest first. */
export function mountPointsUnder(dir: string): string[] {
  const points = new Set(mountTable().map((m) => m.mountPoint).filter((p) => p.startsWith(`${dir}/`)));
  return [...points].sort((a, b) => b.split("/").length - a.split("/").length);
}

/** The backing file of loop device `device` (`/dev/loopN`), if it is one. */
export function loopBackingFile(device: string): string | undefined {
  const name = device.replace(/^\/dev\//, "");
  if (!/^loop\d+$/.test(name)) return undefined;
  try {
    return Deno.readTextFileSync(`/sys/block/${name}/loop/backing_file`).trim();
  } catch {
    return undefined;
  }
}

/** Whether `path` has `image` mounted on it (through a loop device), on top. */
export function imageMountedAt(image: string, path: string): boolean {
  const top = mountsAt(path).at(-1);
  if (top === undefined) return false;
  try {
    return loopBackingFile(top.source) === Deno.realPathSync(image);
  } catch {
    return false; // no such image
  }
}

/** Creates a sparse ext4 image of `sizeBytes` at `image` (written aside, then renamed into place). */
export async function createImage(
  image: string,
  sizeBytes: number,
  tools: VolumeTools = DEFAULT_TOOLS,
): Promise<void> {
  if (!Number.isInteger(sizeBytes) || sizeBytes < MIN_VOLUME_BYTES) {
    throw new VolumeError(`a volume must be at least ${MIN_VOLUME_BYTES} bytes, got ${sizeBytes}`);
  }
  const staging = `${image}.${crypto.randomUUID()}.tmp`;
  try {
    const file = Deno.openSync(staging, { createNew: true, write: true, mode: 0o600 });
    try {
      file.truncateSync(sizeBytes); // sparse: blocks are allocated as the agent writes
    } finally {
      file.close();
    }
    // -m 0: no blocks reserved for root (nobody inside is root); the journal keeps a crash consistent.
    const mkfs = await run(tools.mkfs, ["-q", "-F", "-m", "0", "-E", "nodiscard", "-L", "ironclaw", staging]);
    if (!mkfs.ok) throw new VolumeError(`mkfs.ext4 ${image} failed: ${mkfs.output}`);
    Deno.renameSync(staging, image);
  } finally {
    try {
      Deno.removeSync(staging);
    } catch {
      // renamed into place
    }
  }
}

/**
 * Mounts `spec.image` (created when missing) on `spec.mountPoint`; reuses it
 * when it is already mounted there. Falls back to a plain directory, with
 * the reason, when volumes are unavailable here; a failure on a host that
 * should allow them throws {@link VolumeError}.
 */
export async function ensureVolume(spec: VolumeSpec, tools: VolumeTools = DEFAULT_TOOLS): Promise<Volume> {
  Deno.mkdirSync(spec.mountPoint, { recursive: true, mode: 0o700 });
  const unavailable = volumesUnavailable(tools);
  if (unavailable) return { limited: false, mountPoint: spec.mountPoint, reason: unavailable };
  const mountPoint = Deno.realPathSync(spec.mountPoint);
  let reused = false;
  if (exists(spec.image) && imageMountedAt(spec.image, mountPoint)) {
    reused = true;
  } else {
    if (mountsAt(mountPoint).length) {
      throw new VolumeError(`${mountPoint} already has something else mounted on it`);
    }
    const fresh = !exists(spec.image);
    if (fresh) await createImage(spec.image, spec.sizeBytes, tools);
    const mount = await run(tools.mount, [
      "-t",
      "ext4",
      "-o",
      spec.mountOptions ?? VOLUME_MOUNT_OPTIONS,
      spec.image,
      mountPoint,
    ]);
    // The agent has no use for lost+found (root's, 0700); e2fsck recreates it should it need one.
    if (mount.ok && fresh) Deno.removeSync(`${mountPoint}/lost+found`);
    if (!mount.ok) {
      // A host without usable loop devices (a container) fails here: fall back, visibly.
      if (/loop|permission denied|operation not permitted/i.test(mount.output)) {
        return { limited: false, mountPoint, reason: `cannot loop-mount ${spec.image}: ${mount.output}` };
      }
      throw new VolumeError(`mounting ${spec.image} on ${mountPoint} failed: ${mount.output}`);
    }
  }
  Deno.chmodSync(mountPoint, spec.mode ?? 0o700);
  if (spec.owner) Deno.chownSync(mountPoint, spec.owner.uid, spec.owner.gid);
  return { limited: true, mountPoint, image: spec.image, sizeBytes: Deno.statSync(spec.image).size, reused };
}

/** Mount options of a host tmpfs a sandbox writes: never a device, setuid, or executed. */
export const TMPFS_MOUNT_OPTIONS = "nosuid,nodev,noexec";

/**
 * Mounts a tmpfs of at most `sizeBytes` on `mountPoint` (created 0700): a
 * sandbox's per-launch scratch that is bounded (in memory, not on the
 * host's disk) and gone once unmounted ({@link releaseVolume}). Needs root,
 * like the sandboxing backends that use it; throws {@link VolumeError}.
 */
export async function mountTmpfs(
  mountPoint: string,
  opts: { sizeBytes: number; tools?: VolumeTools },
): Promise<void> {
  const tools = opts.tools ?? DEFAULT_TOOLS;
  Deno.mkdirSync(mountPoint, { recursive: true, mode: 0o700 });
  const options = `${TMPFS_MOUNT_OPTIONS},size=${opts.sizeBytes},mode=0700`;
  const mount = await run(tools.mount, ["-t", "tmpfs", "-o", options, "ironclaw-scratch", mountPoint]);
  if (!mount.ok) throw new VolumeError(`mounting a tmpfs on ${mountPoint} failed: ${mount.output}`);
}

/**
 * Unmounts whatever is mounted on `mountPoint` (an image, a tmpfs; no-op
 * when nothing is); a busy mount is detached lazily. A loop device is freed
 * with it.
 */
export async function releaseVolume(mountPoint: string, tools: VolumeTools = DEFAULT_TOOLS): Promise<void> {
  let path: string;
  try {
    path = Deno.realPathSync(mountPoint);
  } catch {
    return;
  }
  while (mountsAt(path).length) {
    const umount = await run(tools.umount, [path]);
    if (umount.ok) continue;
    const lazy = await run(tools.umount, ["--lazy", path]);
    if (!lazy.ok) throw new VolumeError(`unmounting ${path} failed: ${umount.output}; ${lazy.output}`);
  }
}
