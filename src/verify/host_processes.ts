/**
 * The sandbox's processes as the host kernel knows them, from `/proc`: which
 * they are (by a marker on their command lines, and their descendants),
 * their network namespace's interfaces, environment, cgroup limits,
 * threads and sockets, and the host's own listening sockets.
 *
 * @module
 */
function readText(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

/** `/proc/<pid>/status` as key/value pairs, or undefined when the process is gone. */
export function procStatus(pid: number): Record<string, string> | undefined {
  const text = readText(`/proc/${pid}/status`);
  if (text === undefined) return undefined;
  return Object.fromEntries(
    text.split("\n").filter(Boolean).map((l) => {
      const at = l.indexOf(":");
      return [l.slice(0, at), l.slice(at + 1).trim()];
    }),
  );
}

/** One host process. */
export interface HostProcess {
  pid: number;
  ppid: number;
  comm: string;
  argv: string[];
}

/** Every process of the host (a snapshot). */
export function listProcesses(): HostProcess[] {
  const out: HostProcess[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const pid = Number(entry.name);
    const stat = readText(`/proc/${pid}/stat`);
    const cmdline = readText(`/proc/${pid}/cmdline`);
    if (stat === undefined || cmdline === undefined) continue;
    // comm may hold spaces and parentheses: the state and ppid follow the last ')'.
    const close = stat.lastIndexOf(")");
    const comm = stat.slice(stat.indexOf("(") + 1, close);
    const ppid = Number(stat.slice(close + 2).split(" ")[1]);
    out.push({ pid, ppid, comm, argv: cmdline.split("\0").filter(Boolean) });
  }
  return out;
}

/**
 * The processes of one sandbox: those whose command line mentions `marker`
 * (a path or id unique to the session), and all their descendants.
 */
export function sandboxProcesses(marker: string, all: HostProcess[] = listProcesses()): HostProcess[] {
  return withDescendants(all.filter((p) => p.argv.some((a) => a.includes(marker))), all);
}

/** `seeds` and every process in `all` that descends from one of them. */
export function withDescendants(seeds: HostProcess[], all: HostProcess[]): HostProcess[] {
  const found = new Map(seeds.map((p) => [p.pid, p]));
  for (let grew = true; grew;) {
    grew = false;
    for (const p of all) {
      if (!found.has(p.pid) && found.has(p.ppid)) {
        found.set(p.pid, p);
        grew = true;
      }
    }
  }
  return [...found.values()];
}

/**
 * The processes that run the agent's code: the Deno process itself (process
 * and bwrap backends), or gVisor's Sentry (`runsc-sandbox … boot`) and the
 * stub processes it runs the agent's instructions in (ptrace platform), with
 * all their descendants. Launchers (bwrap's outer process, `runsc run`, the
 * gofer) are trusted code and not counted.
 */
export function agentSideProcesses(procs: HostProcess[]): HostProcess[] {
  const roots = procs.filter((p) =>
    p.comm === "deno" || /(^|\/)deno$/.test(p.argv[0] ?? "") ||
    ((p.argv[0] ?? "").startsWith("runsc") && p.argv.includes("boot"))
  );
  const found = new Map(roots.map((p) => [p.pid, p]));
  for (let grew = true; grew;) {
    grew = false;
    for (const p of procs) {
      if (!found.has(p.pid) && found.has(p.ppid)) {
        found.set(p.pid, p);
        grew = true;
      }
    }
  }
  return [...found.values()];
}

/** Interface names of the network namespace `pid` lives in (`/proc/<pid>/net/dev`). */
export function interfacesOf(pid: number): string[] | undefined {
  const text = readText(`/proc/${pid}/net/dev`);
  if (text === undefined) return undefined;
  return text.split("\n").slice(2).map((l) => l.split(":")[0].trim()).filter(Boolean);
}

/** Whether `value` occurs in the environment block of `pid` (undefined when unreadable). */
export function environHas(pid: number, value: string): boolean | undefined {
  const text = readText(`/proc/${pid}/environ`);
  return text === undefined ? undefined : text.includes(value);
}

/** The cgroup v1/v2 limits that apply to `pid`: memory bytes and pids, when set. */
export function cgroupLimits(pid: number): { memoryBytes?: number; pids?: number } {
  const text = readText(`/proc/${pid}/cgroup`);
  if (text === undefined) return {};
  const limits: { memoryBytes?: number; pids?: number } = {};
  const parse = (raw: string | undefined) => {
    const n = Number(raw?.trim());
    // v1 reports "no limit" as a huge number, v2 as "max".
    return Number.isFinite(n) && n > 0 && n < 2 ** 60 ? n : undefined;
  };
  for (const line of text.split("\n").filter(Boolean)) {
    const [, controllers, path] = line.split(":");
    const list = controllers.split(",");
    if (list.includes("memory")) {
      limits.memoryBytes = parse(readText(`/sys/fs/cgroup/memory${path}/memory.limit_in_bytes`));
    }
    if (list.includes("pids")) limits.pids = parse(readText(`/sys/fs/cgroup/pids${path}/pids.max`));
    if (controllers === "") {
      limits.memoryBytes ??= parse(readText(`/sys/fs/cgroup${path}/memory.max`));
      limits.pids ??= parse(readText(`/sys/fs/cgroup${path}/pids.max`));
    }
  }
  return limits;
}

/** Socket inodes `pid` holds open. */
export function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  try {
    for (const fd of Deno.readDirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(Deno.readLinkSync(`/proc/${pid}/fd/${fd.name}`));
        if (m) inodes.add(m[1]);
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    // gone
  }
  return inodes;
}

/** Inodes of listening TCP sockets in the host's own network namespace. */
export function hostListeningInodes(): Set<string> {
  const inodes = new Set<string>();
  for (const file of ["/proc/self/net/tcp", "/proc/self/net/tcp6"]) {
    for (const line of (readText(file) ?? "").split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      // st 0A is LISTEN; the inode is the tenth column.
      if (cols[3] === "0A") inodes.add(cols[9]);
    }
  }
  return inodes;
}
