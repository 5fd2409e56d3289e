/**
 * The host's witnesses while the probe runs: loopback listeners and a relay
 * that count connections and datagrams, victim processes carrying a secret,
 * a reachability check, and a watch on a filesystem's free space. Each
 * counts what a breach would leave; none of them trusts the probe.
 *
 * @module
 */
import { SocketServer } from "../unix_socket/mod.ts";
import { procStatus } from "./host_processes.ts";

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
