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
import type { AgentLease, QueueLease } from "../session/mod.ts";
import { SocketServer } from "../unix_socket/mod.ts";

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
  readonly #server: SocketServer<Connection>;
  readonly #log = logger("lease");
  #refused = 0;

  constructor(
    readonly socketPath: string,
    readonly lease: QueueLease,
    options: LeaseServerOptions = {},
  ) {
    this.#server = new SocketServer(socketPath, {
      open: (conn) => ({ conn, lease: undefined, held: false, closed: false }),
      serve: (connection) => this.#read(connection),
      drop: (connection) => this.#drop(connection),
    }, options.socketMode);
  }

  /** Connections refused for a protocol violation so far. */
  get refused(): number {
    return this.#refused;
  }

  /** Listens on the socket (its directory made 0700 when missing; a stale socket replaced). */
  async start(): Promise<void> {
    await this.#server.start();
  }

  /** Stops listening, hangs up on every agent (ending their leases) and removes the socket. */
  async close(): Promise<void> {
    await this.#server.close();
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
    this.#server.connections.delete(connection);
    try {
      connection.conn.close();
    } catch {
      // Already closed.
    }
  }
}
