/**
 * The host end of a session's doorbell: a unix socket carrying single-byte
 * wake signals. The host rings (`DOORBELL.inbound`) when an inbound row is
 * waiting; the agent rings back (`DOORBELL.outbound`) after appending an
 * outbound row. Both sides still poll, so a lost ring only costs latency.
 * Given the session's queue lease, the doorbell also serves it on
 * `lease.sock` beside its own socket, so whoever starts a session's bell
 * starts its lock authority too; an agent waiting for the bell there is
 * rung with the lease instead (`LEASE.bell`), and its releases may carry its
 * outbound ring (`LEASE.outbound`).
 *
 * @module
 */
import { dirname } from "node:path";
import { DOORBELL, LEASE_SOCKET_NAME } from "../../contract/sockets.ts";
import type { QueueLease } from "../session/mod.ts";
import { SocketServer } from "../unix_socket/mod.ts";
import { LeaseServer } from "./lease_server.ts";

/** What the host does when the agent rings, and how the socket is exposed. */
export interface DoorbellOptions {
  /** Called when the agent signals an outbound row; rings arriving together are coalesced. Must not throw. */
  onOutbound: () => void;
  /** Mode of the socket file (default 0o666, so the sandbox's uid can connect). */
  socketMode?: number;
  /**
   * The session's queue lease (`SessionQueueStore.lease`), served on
   * `lease.sock` in the same directory. Without it the agent falls back to
   * SQLite's file locks, which do not cross a gVisor boundary.
   */
  lease?: QueueLease;
}

const RING = new Uint8Array([DOORBELL.inbound]);

/** One agent connection. A ring during a pending write is folded into one more write after it. */
interface Connection {
  conn: Deno.UnixConn;
  writing: boolean;
  again: boolean;
}

/** The host side of one session's doorbell. */
export class Doorbell {
  readonly #server: SocketServer<Connection>;
  #outboundQueued = false;
  #leaseServer?: LeaseServer;

  constructor(readonly socketPath: string, private readonly options: DoorbellOptions) {
    this.#server = new SocketServer(socketPath, {
      open: (conn) => ({ conn, writing: false, again: false }),
      serve: (connection) => this.#read(connection),
      drop: (connection) => this.#drop(connection),
    }, options.socketMode);
  }

  /** Listens on the socket (its directory made 0700 when missing; a stale socket replaced). */
  async start(): Promise<void> {
    await this.#server.start();
    if (this.options.lease) {
      const server = new LeaseServer(`${dirname(this.socketPath)}/${LEASE_SOCKET_NAME}`, this.options.lease, {
        socketMode: this.options.socketMode,
        onOutbound: () => this.#outbound(),
      });
      try {
        await server.start();
      } catch (err) {
        await this.close();
        throw err;
      }
      this.#leaseServer = server;
    }
  }

  /**
   * Wakes every connected agent. Never blocks; a dead connection is dropped.
   * An agent waiting for the bell on the lease socket is granted the lease
   * with it there, and not rung here: one crossing instead of three.
   */
  ring(): void {
    if (this.#leaseServer?.ring()) return;
    for (const connection of this.#server.connections) this.#write(connection);
  }

  /** Stops listening, drops every connection and removes the socket (and the lease socket). */
  async close(): Promise<void> {
    await this.#leaseServer?.close();
    this.#leaseServer = undefined;
    await this.#server.close();
  }

  async #read(connection: Connection): Promise<void> {
    const buffer = new Uint8Array(64);
    try {
      for (let n = await connection.conn.read(buffer); n !== null; n = await connection.conn.read(buffer)) {
        if (buffer.subarray(0, n).includes(DOORBELL.outbound)) this.#outbound();
      }
    } catch {
      // A reset or a close of ours: either way the connection is done.
    }
    this.#drop(connection);
  }

  #outbound(): void {
    if (this.#outboundQueued) return;
    this.#outboundQueued = true;
    queueMicrotask(() => {
      this.#outboundQueued = false;
      this.options.onOutbound();
    });
  }

  #write(connection: Connection): void {
    if (connection.writing) {
      connection.again = true;
      return;
    }
    connection.writing = true;
    connection.conn.write(RING).then(
      () => {
        connection.writing = false;
        if (connection.again) {
          connection.again = false;
          this.#write(connection);
        }
      },
      () => this.#drop(connection),
    );
  }

  #drop(connection: Connection): void {
    if (!this.#server.connections.delete(connection)) return;
    try {
      connection.conn.close();
    } catch {
      // Already closed.
    }
  }
}
