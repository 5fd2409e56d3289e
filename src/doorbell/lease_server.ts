/**
 * The host end of a session's queue lease: a unix socket (`lease.sock`, next
 * to the doorbell) through which the agent asks for the session's
 * {@link QueueLease} around each of its queue transactions.
 *
 * Per connection the bytes go in lockstep (`LEASE` in `contract/sockets.ts`):
 * acquire, granted, release. Anything else is refused by hanging up, which
 * ends the connection's lease or request; so does a disconnect, and so does
 * the cap. Nothing the agent sends can throw out of here or hold the host.
 *
 * @module
 */
import { LEASE } from "../../contract/sockets.ts";
import { logger } from "../log/mod.ts";
import type { AgentLease, QueueLease } from "../session/queue_lease.ts";
import { DEFAULT_SOCKET_MODE, prepareSocketPath, removeSocket } from "../unix_socket/mod.ts";

/** How the lease socket is exposed. */
export interface LeaseServerOptions {
  /** Mode of the socket file (default 0o666, so the sandbox's uid can connect). */
  socketMode?: number;
}

const GRANTED = Uint8Array.of(LEASE.granted);

/** One agent connection: idle, waiting for its grant, or holding the lease. */
interface Connection {
  conn: Deno.UnixConn;
  lease: AgentLease | undefined;
  held: boolean;
  closed: boolean;
}

/** Serves one session's queue lease on a unix socket. */
export class LeaseServer {
  readonly #connections = new Set<Connection>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #log = logger("lease");
  #listener?: Deno.Listener<Deno.UnixConn, Deno.UnixAddr>;
  #refused = 0;

  constructor(
    readonly socketPath: string,
    readonly lease: QueueLease,
    private readonly options: LeaseServerOptions = {},
  ) {}

  /** Connections refused for a protocol violation so far. */
  get refused(): number {
    return this.#refused;
  }

  /** Listens on the socket (its directory made 0700 when missing; a stale socket replaced). */
  async start(): Promise<void> {
    if (this.#listener) throw new Error("lease server: already started");
    await prepareSocketPath(this.socketPath);
    const listener = Deno.listen({ transport: "unix", path: this.socketPath });
    this.#listener = listener;
    await Deno.chmod(this.socketPath, this.options.socketMode ?? DEFAULT_SOCKET_MODE);
    this.#track(this.#accept(listener));
  }

  /** Stops listening, hangs up on every agent (ending their leases) and removes the socket. */
  async close(): Promise<void> {
    this.#listener?.close();
    this.#listener = undefined;
    for (const connection of this.#connections) this.#drop(connection);
    await Promise.all(this.#tasks);
    await removeSocket(this.socketPath);
  }

  #track(task: Promise<void>): void {
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task));
  }

  async #accept(listener: Deno.Listener<Deno.UnixConn, Deno.UnixAddr>): Promise<void> {
    try {
      for await (const conn of listener) {
        const connection: Connection = { conn, lease: undefined, held: false, closed: false };
        this.#connections.add(connection);
        this.#track(this.#read(connection));
      }
    } catch {
      // Closed by us, or failing: the agent falls back to its file locks until it reconnects.
    }
  }

  async #read(connection: Connection): Promise<void> {
    const buffer = new Uint8Array(64);
    try {
      for (let n = await connection.conn.read(buffer); n !== null; n = await connection.conn.read(buffer)) {
        for (const byte of buffer.subarray(0, n)) {
          if (!this.#handle(connection, byte)) {
            this.#refused++;
            this.#log.warn("lease connection refused: byte {byte} out of protocol", { byte });
            this.#drop(connection);
            return;
          }
        }
      }
    } catch {
      // A reset or a close of ours: either way the connection is done.
    }
    this.#drop(connection);
  }

  /** Applies one byte; false when it breaks the protocol. */
  #handle(connection: Connection, byte: number): boolean {
    if (byte === LEASE.acquire) {
      if (connection.lease) return false;
      const lease = this.lease.request(() => {
        this.#log.warn("queue lease revoked after {capMs} ms: the agent kept it too long", {
          capMs: this.lease.capMs,
        });
        this.#drop(connection);
      });
      connection.lease = lease;
      lease.granted.then((granted) => {
        if (!granted || connection.closed || connection.lease !== lease) return;
        connection.held = true;
        connection.conn.write(GRANTED).catch(() => this.#drop(connection));
      });
      return true;
    }
    if (byte === LEASE.release) {
      if (!connection.lease || !connection.held) return false;
      connection.lease.release();
      connection.lease = undefined;
      connection.held = false;
      return true;
    }
    return false;
  }

  #drop(connection: Connection): void {
    connection.lease?.release();
    connection.lease = undefined;
    connection.held = false;
    if (connection.closed) return;
    connection.closed = true;
    this.#connections.delete(connection);
    try {
      connection.conn.close();
    } catch {
      // Already closed.
    }
  }
}
