/**
 * Host processes of a sandbox, from `/proc`: the processes whose command
 * line names the sandbox (runsc's container id `ironclaw-<sid>`, bwrap's
 * binds of the session's directories, the process backend's layout), plus
 * every descendant of those (runsc's sentry, gofer and ptrace stubs; bwrap's
 * namespaced agent), and their resident memory.
 *
 * @module
 */

/** One process as `/proc` shows it. */
export interface Proc {
  pid: number;
  ppid: number;
  comm: string;
  cmdline: string;
}

/** Every process we can read (those that vanish while being read are skipped). */
export function listProcs(): Proc[] {
  const procs: Proc[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    const pid = Number(entry.name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
      // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split at the last ')'.
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(stat.indexOf("(") + 1, close);
      const ppid = Number(stat.slice(close + 2).split(" ")[1]);
      const cmdline = Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ").trim();
      procs.push({ pid, ppid, comm, cmdline });
    } catch {
      // Gone meanwhile.
    }
  }
  return procs;
}

/** The processes whose command line contains `needle`, and all their descendants (never this process). */
export function processTree(needle: string, procs: readonly Proc[] = listProcs()): Proc[] {
  const children = new Map<number, Proc[]>();
  for (const p of procs) children.set(p.ppid, [...children.get(p.ppid) ?? [], p]);
  const found = new Map<number, Proc>();
  const visit = (p: Proc) => {
    if (found.has(p.pid) || p.pid === Deno.pid) return;
    found.set(p.pid, p);
    for (const c of children.get(p.pid) ?? []) visit(c);
  };
  for (const p of procs) if (p.cmdline.includes(needle)) visit(p);
  return [...found.values()];
}

/** Resident memory of a set of processes, in KiB: RSS summed, and PSS (shared pages split between sharers). */
export interface Memory {
  rssKiB: number;
  pssKiB: number;
}

function statusField(pid: number, field: string): number {
  const text = Deno.readTextFileSync(`/proc/${pid}/status`);
  const match = text.match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"));
  return match ? Number(match[1]) : 0;
}

function pss(pid: number): number {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/smaps_rollup`);
    const match = text.match(/^Pss:\s+(\d+) kB/m);
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** Sums RSS and PSS over `pids` (a process gone meanwhile counts 0). */
export function memoryOf(pids: readonly number[]): Memory {
  let rssKiB = 0;
  let pssKiB = 0;
  for (const pid of pids) {
    try {
      rssKiB += statusField(pid, "VmRSS");
      pssKiB += pss(pid);
    } catch {
      // Gone meanwhile.
    }
  }
  return { rssKiB, pssKiB };
}

/** The pid of every process whose command line contains `needle` (to end what a failed run left behind). */
export function pidsMentioning(needle: string): number[] {
  return listProcs().filter((p) => p.pid !== Deno.pid && p.cmdline.includes(needle)).map((p) => p.pid);
}

/** What a sandbox's cgroup (v1, `/ironclaw/<sid>` as runsc creates it) says about it. */
export interface CgroupStats {
  /** CPU time the sandbox consumed so far. */
  cpuSeconds: number;
  /** Time its tasks were held back by the CPU quota, and how many periods. */
  throttledSeconds: number;
  throttledPeriods: number;
  /** Memory charged now, at most so far, and how often the limit was hit. */
  memoryMiB: number;
  memoryMaxMiB: number;
  memoryLimitHits: number;
}

/** The sandbox's cgroup v1 statistics, or undefined where there is no such cgroup (bwrap, cgroup v2). */
export function cgroupStats(path: string, root = "/sys/fs/cgroup"): CgroupStats | undefined {
  const read = (file: string) => Deno.readTextFileSync(`${root}/${file}`).trim();
  try {
    const cpuStat = Object.fromEntries(
      read(`cpu${path}/cpu.stat`).split("\n").map((line) => line.split(" ")).map(([k, v]) => [k, Number(v)]),
    );
    return {
      cpuSeconds: Number(read(`cpuacct${path}/cpuacct.usage`)) / 1e9,
      throttledSeconds: (cpuStat.throttled_time ?? 0) / 1e9,
      throttledPeriods: cpuStat.nr_throttled ?? 0,
      memoryMiB: Number(read(`memory${path}/memory.usage_in_bytes`)) / (1024 * 1024),
      memoryMaxMiB: Number(read(`memory${path}/memory.max_usage_in_bytes`)) / (1024 * 1024),
      memoryLimitHits: Number(read(`memory${path}/memory.failcnt`)),
    };
  } catch {
    return undefined;
  }
}
