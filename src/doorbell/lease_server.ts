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
 * An agent waiting for the bell says so (`LEASE.idle`) with its last
 * release; the doorbell's next ring ({@link LeaseServer.ring}) then grants it
 * the lease with the bell, and a release may say that outbound rows are
 * waiting (`LEASE.outbound`): two round trips fewer per turn. Only an agent
 * that said it waits is granted by a ring, and only once, capped like any
 * lease: one busy elsewhere (a model call) is rung on the doorbell as before.
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
  /** Called when the agent says outbound rows are waiting (`LEASE.outbound`). Must not throw. */
  onOutbound?: () => void;
}

const GRANTED = Uint8Array.of(LEASE.granted);
const BELL = Uint8Array.of(LEASE.bell);

/** One agent connection: idle, waiting for its grant, or holding the lease. */
interface Connection {
  conn: Deno.UnixConn;
  lease: AgentLease | undefined;
  held: boolean;
  closed: boolean;
  /** The agent waits for the bell (`LEASE.idle`): the next ring may grant it the lease. */
  waitsForBell: boolean;
  /** The lease (asked or held) came with the bell: one acquire that crossed it may still join it. */
  byBell: boolean;
}

/** Serves one session's queue lease on a unix socket. */
export class LeaseServer {
  readonly #server: SocketServer<Connection>;
  readonly #log = logger("lease");
  #refused = 0;

  constructor(
    readonly socketPath: string,
    readonly lease: QueueLease,
    private readonly options: LeaseServerOptions = {},
  ) {
    this.#server = new SocketServer(socketPath, {
      open: (conn) => ({
        conn,
        lease: undefined,
        held: false,
        closed: false,
        waitsForBell: false,
        byBell: false,
      }),
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

  /**
   * Rings with the lease: every connection waiting for the bell is granted
   * the lease (when no host turn runs) and told so with `LEASE.bell`, which
   * is also its wake-up. False when none was waiting: ring the doorbell.
   */
  ring(): boolean {
    let rung = false;
    for (const connection of this.#server.connections) {
      if (!connection.waitsForBell) continue;
      connection.waitsForBell = false;
      connection.byBell = true;
      this.#request(connection, BELL);
      rung = true;
    }
    return rung;
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
    switch (byte) {
      case LEASE.acquire:
        if (connection.byBell) {
          // Sent before the agent read the bell: the bell answers it.
          connection.byBell = false;
          return true;
        }
        if (connection.lease) return false;
        connection.waitsForBell = false;
        this.#request(connection, GRANTED);
        return true;
      case LEASE.release:
        if (!connection.lease || !connection.held) return false;
        connection.lease.release();
        connection.lease = undefined;
        connection.held = false;
        connection.byBell = false;
        return true;
      case LEASE.outbound:
        this.options.onOutbound?.();
        return true;
      case LEASE.idle:
        if (connection.lease) return false;
        connection.waitsForBell = true;
        return true;
      default:
        return false;
    }
  }

  /** Asks the lease for the connection; `answer` tells the agent once it is granted. */
  #request(connection: Connection, answer: Uint8Array): void {
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
      connection.conn.write(answer).catch(() => this.#drop(connection));
    });
  }

  #drop(connection: Connection): void {
    connection.lease?.release();
    connection.lease = undefined;
    connection.held = false;
    connection.waitsForBell = false;
    connection.byBell = false;
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
