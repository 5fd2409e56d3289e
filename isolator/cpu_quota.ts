/**
 * The CPU quota of a gVisor sandbox and its start window.
 *
 * A sandbox's start is parallel work (runsc's Sentry and gofer boot, Deno's
 * runtime and the agent's module load run on several threads): about 1.5
 * CPU-seconds in 1.3 s of wall time under ptrace. Held to one CPU per 100 ms
 * period from its first instant, it spends 0.2–0.4 s of that throttled, even
 * an empty program (`tests/bench/sandbox_floor.ts`). So a sandbox starts with
 * a quota of every core of the host and is held to its limit once the start
 * window has passed. The window is bounded per launch, and launches are not
 * the agent's to repeat: a crashing sandbox is relaunched only as the respawn
 * backoff allows, then parked.
 *
 * @module
 */
import { exists } from "./host_dirs.ts";

/** The CFS period every sandbox's quota is expressed in. */
export const CPU_PERIOD_US = 100_000;

/** How long a sandbox may use every core before it is held to its CPU limit. */
export const START_WINDOW_MS = 2_000;

/** Where the host's cgroup filesystems are mounted. */
export const CGROUP_FS = "/sys/fs/cgroup";

/** The quota a sandbox starts with: every core of the host, or its limit when that is more. */
export function startCpus(limitCpus: number, cores: number = navigator.hardwareConcurrency): number {
  return Math.max(limitCpus, cores);
}

/** The file that holds a cgroup's CPU quota, and what to write there for `cpus` CPUs. */
export interface CpuQuotaControl {
  file: string;
  value: string;
}

/**
 * The quota control of cgroup `cgroupsPath` (as in the OCI spec): `cpu.max`
 * on a unified (v2) hierarchy, else `cpu.cfs_quota_us` under the v1 `cpu`
 * controller's mount (`cpu` or `cpu,cpuacct`).
 */
export function cpuQuotaControl(
  cgroupsPath: string,
  cpus: number,
  cgroupFs: string = CGROUP_FS,
): CpuQuotaControl {
  const quota = Math.round(cpus * CPU_PERIOD_US);
  if (exists(`${cgroupFs}/cgroup.controllers`)) {
    return { file: `${cgroupFs}${cgroupsPath}/cpu.max`, value: `${quota} ${CPU_PERIOD_US}` };
  }
  const controller = ["cpu", "cpu,cpuacct"].map((name) => `${cgroupFs}/${name}`)
    .find((dir) => exists(`${dir}/cpu.cfs_quota_us`));
  if (!controller) throw new Error(`no cgroup cpu controller under ${cgroupFs}`);
  return { file: `${controller}${cgroupsPath}/cpu.cfs_quota_us`, value: `${quota}` };
}

/**
 * Holds cgroup `cgroupsPath` to `cpus` CPUs, and reads the quota back;
 * throws when the cgroup is missing or the quota did not take.
 */
export function applyCpuLimit(cgroupsPath: string, cpus: number, cgroupFs: string = CGROUP_FS): void {
  const { file, value } = cpuQuotaControl(cgroupsPath, cpus, cgroupFs);
  // Never create: a missing cgroup is an error, not a file to make.
  Deno.writeTextFileSync(file, value, { create: false });
  const now = Deno.readTextFileSync(file).trim();
  if (now !== value) throw new Error(`${file} reads ${now} after writing ${value}`);
}
