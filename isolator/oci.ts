/**
 * The OCI bundle runsc starts: `config.json` and a rootfs holding nothing of
 * the host, only empty mount points and the host's library-dir symlinks.
 *
 * @module
 */
import { CPU_PERIOD_US } from "./cpu_quota.ts";
import { ociSeccompProfile, RUNSC_POLICY } from "./seccomp.ts";
import {
  type BindMount,
  parentDirs,
  SANDBOX_CWD,
  SANDBOX_ENV,
  SANDBOX_GID,
  SANDBOX_HOSTNAME,
  SANDBOX_UID,
  type SystemLayout,
} from "./plan.ts";
import type { Limits } from "./types.ts";

/** One OCI mount. */
export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

const MIB = 1024 * 1024;

/** Kernel filesystems every sandbox gets; sizes follow §11. */
const SYSTEM_MOUNTS: OciMount[] = [
  { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
  {
    destination: "/dev",
    type: "tmpfs",
    source: "tmpfs",
    options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
  },
  {
    destination: "/dev/pts",
    type: "devpts",
    source: "devpts",
    options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"],
  },
  {
    destination: "/dev/shm",
    type: "tmpfs",
    source: "shm",
    options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
  },
  { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
  {
    destination: "/tmp",
    type: "tmpfs",
    source: "tmpfs",
    options: ["nosuid", "nodev", "noexec", "mode=1777", "size=65536k"],
  },
];

/** A bind mount's OCI form. */
export function ociBind(mount: BindMount): OciMount {
  return {
    destination: mount.destination,
    type: "bind",
    source: mount.source,
    options: [
      mount.isFile ? "bind" : "rbind",
      mount.writable ? "rw" : "ro",
      "nosuid",
      "nodev",
      ...(mount.exec ? [] : ["noexec"]),
    ],
  };
}

/** What {@link ociConfig} needs. */
export interface OciConfigInput {
  argv: string[];
  binds: BindMount[];
  system: SystemLayout;
  limits: Limits;
  /**
   * The CPU quota the sandbox starts with, when more than `limits.cpus`: the
   * backend holds it to `limits.cpus` after the start window (`cpu_quota.ts`).
   */
  startCpus?: number;
  /** The cgroup runsc creates and enforces the limits in. */
  cgroupsPath: string;
  /** The whole environment (default {@link SANDBOX_ENV}, the agent's). */
  env?: Readonly<Record<string, string>>;
  /** The working directory (default {@link SANDBOX_CWD}, the agent's workspace). */
  cwd?: string;
}

/**
 * The hardened `config.json`: uid/gid 65532, no capabilities, no new
 * privileges, read-only root, own pid/mount/ipc/uts/user namespaces and no
 * network namespace (runsc `--network=none` leaves only loopback), the
 * seccomp allowlist, cgroup limits, and rlimits (no core dumps: the key is in
 * the agent's memory).
 */
export function ociConfig(input: OciConfigInput): Record<string, unknown> {
  // The container's root maps to host root (runsc's gofer needs it to reach the
  // host paths it serves), but as root of a user namespace it holds no
  // capability over the host's; the agent's uid maps to itself, so the files
  // it writes are owned by 65532 on the host.
  const idMappings = [
    { containerID: 0, hostID: 0, size: 1 },
    { containerID: SANDBOX_UID, hostID: SANDBOX_UID, size: 1 },
  ];
  return {
    ociVersion: "1.0.2",
    hostname: SANDBOX_HOSTNAME,
    process: {
      terminal: false,
      user: { uid: SANDBOX_UID, gid: SANDBOX_GID, additionalGids: [] },
      args: input.argv,
      env: Object.entries(input.env ?? SANDBOX_ENV).map(([k, v]) => `${k}=${v}`),
      cwd: input.cwd ?? SANDBOX_CWD,
      capabilities: { bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] },
      noNewPrivileges: true,
      rlimits: [
        { type: "RLIMIT_CORE", hard: 0, soft: 0 },
        { type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 },
        { type: "RLIMIT_NPROC", hard: input.limits.pids, soft: input.limits.pids },
      ],
    },
    root: { path: "rootfs", readonly: true },
    mounts: [
      ...SYSTEM_MOUNTS,
      ...input.system.binds.map(ociBind),
      ...input.binds.map(ociBind),
    ],
    linux: {
      namespaces: [{ type: "pid" }, { type: "mount" }, { type: "ipc" }, { type: "uts" }, { type: "user" }],
      uidMappings: idMappings,
      gidMappings: idMappings,
      cgroupsPath: input.cgroupsPath,
      resources: {
        memory: { limit: input.limits.memoryMiB * MIB, swap: input.limits.memoryMiB * MIB },
        pids: { limit: input.limits.pids },
        cpu: {
          quota: Math.round(Math.max(input.limits.cpus, input.startCpus ?? 0) * CPU_PERIOD_US),
          period: CPU_PERIOD_US,
        },
      },
      seccomp: ociSeccompProfile(Deno.build.arch, RUNSC_POLICY),
    },
  };
}

/**
 * Creates `rootfs` under `bundleDir`: the mount points (empty directories and
 * files) and the library-dir symlinks. Nothing is copied from the host.
 */
export function writeRootfs(bundleDir: string, mounts: readonly OciMount[], system: SystemLayout): void {
  const rootfs = `${bundleDir}/rootfs`;
  const dirs = new Set<string>();
  const files = new Set<string>();
  for (const m of mounts) {
    for (const parent of parentDirs(m.destination)) dirs.add(parent);
    const isFile = m.type === "bind" && m.options.includes("bind");
    (isFile ? files : dirs).add(m.destination);
  }
  for (const link of system.symlinks) for (const parent of parentDirs(link.path)) dirs.add(parent);
  Deno.mkdirSync(rootfs, { mode: 0o755 });
  for (const dir of [...dirs].sort()) Deno.mkdirSync(`${rootfs}${dir}`, { recursive: true, mode: 0o755 });
  for (const file of files) Deno.writeFileSync(`${rootfs}${file}`, new Uint8Array(), { mode: 0o444 });
  for (const link of system.symlinks) Deno.symlinkSync(link.target, `${rootfs}${link.path}`);
}

/** Writes `config.json` (0600) and the rootfs into a fresh `bundleDir`. */
export function writeBundle(bundleDir: string, input: OciConfigInput): Record<string, unknown> {
  const config = ociConfig(input);
  Deno.mkdirSync(bundleDir, { recursive: true, mode: 0o700 });
  writeRootfs(bundleDir, config.mounts as OciMount[], input.system);
  Deno.writeTextFileSync(`${bundleDir}/config.json`, JSON.stringify(config, null, 2), { mode: 0o600 });
  return config;
}
