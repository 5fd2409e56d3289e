/**
 * What the host can see for itself while the probe runs: loopback listeners
 * that count connections and datagrams, victim processes, the sandbox's
 * processes as the host kernel knows them (network namespace, environment,
 * cgroup limits, threads, listening sockets), and file fingerprints.
 *
 * @module
 */
import { SocketServer } from "../unix_socket/mod.ts";

/** A loopback TCP listener that counts accepted connections. */
export class CountingTcpListener implements AsyncDisposable {
  readonly port: number;
  #accepted = 0;
  readonly #listener: Deno.TcpListener;
  readonly #loop: Promise<void>;

  constructor() {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#listener = listener;
    this.port = (listener.addr as Deno.NetAddr).port;
    this.#loop = (async () => {
      try {
        for await (const conn of listener) {
          this.#accepted++;
          try {
            // An HTTP answer, so a fetch that got through completes rather than hangs.
            await conn.write(
              new TextEncoder().encode("HTTP/1.0 204 No Content\r\nConnection: close\r\n\r\n"),
            );
          } catch {
            // the peer went away
          }
          conn.close();
        }
      } catch {
        // closed
      }
    })();
  }

  /** Connections accepted so far. */
  get accepted(): number {
    return this.#accepted;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#listener.close();
    await this.#loop;
  }
}

interface RelayedConnection {
  conn: Deno.UnixConn;
  upstream?: Deno.UnixConn;
  closed: boolean;
}

function hangUp(c: RelayedConnection): void {
  if (c.closed) return;
  c.closed = true;
  for (const conn of [c.conn, c.upstream]) {
    try {
      conn?.close();
    } catch {
      // already closed
    }
  }
}

/**
 * A unix socket that counts the connections it accepts and relays each to
 * `target` (another socket). It stands where another session's model proxy
 * socket is, in front of that session's real proxy: the proxy records calls,
 * but only a listener of our own can count a connection that sends nothing.
 */
export class CountingUnixRelay implements AsyncDisposable {
  #accepted = 0;
  readonly #server: SocketServer<RelayedConnection>;

  private constructor(path: string, target: string, mode: number) {
    const connections = (): Set<RelayedConnection> => this.#server.connections;
    this.#server = new SocketServer<RelayedConnection>(path, {
      open: (conn) => {
        this.#accepted++;
        return { conn, closed: false };
      },
      serve: async (c) => {
        try {
          c.upstream = await Deno.connect({ transport: "unix", path: target });
          if (c.closed) return;
          // Either side ending ends the relay; the caller's answer is complete by then (the proxy
          // closes after it, and pipeTo resolves only once every byte is written).
          await Promise.race([
            c.conn.readable.pipeTo(c.upstream.writable, { preventClose: true }),
            c.upstream.readable.pipeTo(c.conn.writable, { preventClose: true }),
          ]);
        } catch {
          // a side went away
        } finally {
          hangUp(c);
          connections().delete(c);
        }
      },
      drop: (c) => {
        hangUp(c);
        connections().delete(c);
      },
    }, mode);
  }

  /** Listens on `path` (socket mode `mode`) and relays to `target`. */
  static async open(path: string, target: string, mode: number): Promise<CountingUnixRelay> {
    const relay = new CountingUnixRelay(path, target, mode);
    await relay.#server.start();
    return relay;
  }

  /** Connections accepted so far. */
  get accepted(): number {
    return this.#accepted;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#server.close();
  }
}

/** A loopback UDP socket (a pretend DNS server, too) that counts datagrams, via a small child. */
export class CountingUdpSocket implements AsyncDisposable {
  readonly port: number;
  readonly #child: Deno.ChildProcess;
  readonly #lines: string[] = [];
  readonly #reading: Promise<void>;

  private constructor(child: Deno.ChildProcess, port: number, rest: ReadableStreamDefaultReader<string>) {
    this.#child = child;
    this.port = port;
    this.#reading = (async () => {
      for (;;) {
        const { value, done } = await rest.read();
        if (done) return;
        this.#lines.push(value);
      }
    })();
  }

  /**
   * Binds 127.0.0.1:0. Deno's UDP API is unstable in this version, so a
   * child Deno with `--unstable-net` holds the socket and prints one line per
   * datagram.
   */
  static async open(): Promise<CountingUdpSocket> {
    const code = `const s = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
console.log(s.addr.port);
for await (const [d] of s) console.log(d.length);`;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["eval", "--unstable-net", code],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
      env: { NO_COLOR: "1" },
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(lineSplitter()).getReader();
    const first = await reader.read();
    if (first.done) throw new Error("the UDP counter did not start");
    return new CountingUdpSocket(child, Number(first.value), reader);
  }

  /** Datagrams received so far. */
  get received(): number {
    return this.#lines.length;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await this.#child.status;
    await this.#reading.catch(() => {});
  }
}

function lineSplitter(): TransformStream<string, string> {
  let buffer = "";
  return new TransformStream({
    transform(chunk, controller) {
      buffer += chunk;
      const lines = buffer.split("\n");
      buffer = lines.pop()!;
      for (const line of lines) if (line) controller.enqueue(line);
    },
    flush(controller) {
      if (buffer) controller.enqueue(buffer);
    },
  });
}

/** A sleeping host process for the probe to attack. */
export class Victim implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  #exited = false;
  readonly #status: Promise<Deno.CommandStatus>;

  /** Starts `sleep 300` with `env` as its whole environment. */
  constructor(env: Record<string, string> = {}) {
    this.#child = new Deno.Command("sleep", {
      args: ["300"],
      clearEnv: true,
      env,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    this.#status = this.#child.status.then((s) => {
      this.#exited = true;
      return s;
    });
  }

  get pid(): number {
    return this.#child.pid;
  }

  /** Whether it still runs (not killed by a signal). */
  alive(): boolean {
    return !this.#exited && procStatus(this.pid) !== undefined;
  }

  /** The pid tracing it, 0 for none. */
  tracer(): number {
    return Number(procStatus(this.pid)?.TracerPid ?? 0);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await this.#status;
  }
}

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

/** Whether a TCP connect to 127.0.0.1:`port` succeeds from the host. */
export async function reachable(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

/** SHA-256 of bytes, as hex. */
export async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** SHA-256 of a file, or undefined when it cannot be read. */
export async function fileHash(path: string): Promise<string | undefined> {
  try {
    return await sha256Hex(await Deno.readFile(path));
  } catch {
    return undefined;
  }
}

/** A file's size, mode and modification time, and its hash, to compare before and after. */
export interface Fingerprint {
  hash?: string;
  size?: number;
  mode?: number;
  mtime?: number;
}

/** Takes `path`'s {@link Fingerprint}. */
export async function fingerprint(path: string): Promise<Fingerprint> {
  try {
    const info = await Deno.stat(path);
    return {
      hash: await fileHash(path),
      size: info.size,
      mode: info.mode ?? undefined,
      mtime: info.mtime?.getTime(),
    };
  } catch {
    return {};
  }
}

/** Whether two fingerprints differ. */
export function changed(a: Fingerprint, b: Fingerprint): boolean {
  return a.hash !== b.hash || a.size !== b.size || a.mode !== b.mode || a.mtime !== b.mtime;
}

/**
 * Sets `path`'s access time far into the past, so that under `relatime` the
 * next read of it moves the access time: the host's evidence of a read.
 */
export function armAccessTime(path: string): void {
  const info = Deno.statSync(path);
  Deno.utimeSync(path, new Date(946684800000), info.mtime ?? new Date());
}

/** Whether `path` was read since {@link armAccessTime}. */
export function wasRead(path: string): boolean {
  try {
    return (Deno.statSync(path).atime?.getTime() ?? 0) > 946684800000;
  } catch {
    return false;
  }
}

/** Bytes of a file, 0 when absent. */
export function sizeOf(path: string): number {
  try {
    return Deno.statSync(path).size;
  } catch {
    return 0;
  }
}

/** Whether a path exists (without following a final symlink). */
export function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** glibc's `struct statvfs` on 64-bit Linux: `f_frsize` is its second word, `f_bavail` its fifth. */
const STATVFS_BYTES = 128;
let statvfs: ((path: Uint8Array<ArrayBuffer>, out: Uint8Array<ArrayBuffer>) => number) | undefined;

/** Bytes free to unprivileged users on the filesystem holding `path` (statvfs(3)). */
export function freeDiskBytes(path: string): number {
  statvfs ??= Deno.dlopen("libc.so.6", { statvfs: { parameters: ["buffer", "buffer"], result: "i32" } })
    .symbols.statvfs;
  const out = new BigUint64Array(STATVFS_BYTES / 8);
  const rc = statvfs(new TextEncoder().encode(`${path}\0`), new Uint8Array(out.buffer));
  if (rc !== 0) throw new Error(`statvfs ${path} failed`);
  return Number(out[1] * out[4]);
}

/**
 * Watches the free space of the filesystem holding `path`, sampling often
 * enough to catch a file that is written and removed again within a second:
 * {@link largestDrop} is how far below its first sample it ever fell.
 */
export class FreeSpaceWatch {
  readonly #path: string;
  readonly #baseline: number;
  #lowest: number;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(path: string, everyMs = 10) {
    this.#path = path;
    this.#baseline = freeDiskBytes(path);
    this.#lowest = this.#baseline;
    this.#timer = setInterval(() => this.#sample(), everyMs);
  }

  #sample(): void {
    this.#lowest = Math.min(this.#lowest, freeDiskBytes(this.#path));
  }

  /** Bytes: the first sample less the lowest. */
  get largestDrop(): number {
    return this.#baseline - this.#lowest;
  }

  /** Takes a last sample and stops. */
  stop(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#sample();
  }
}
