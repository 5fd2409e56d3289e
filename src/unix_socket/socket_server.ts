/**
 * A host-owned unix socket that serves every agent connection until it ends,
 * and on close hangs up on all of them and waits for their handlers: the
 * skeleton the doorbell and the queue lease share.
 *
 * @module
 */
import { DEFAULT_SOCKET_MODE, prepareSocketPath, removeSocket } from "./socket_file.ts";

/** What a server does with its connections. */
export interface ConnectionHandler<C> {
  /** Wraps a newly accepted connection in the server's per-connection state. */
  open(conn: Deno.UnixConn): C;
  /** Serves one connection until it ends; must not throw. */
  serve(connection: C): Promise<void>;
  /** Hangs up on a connection (idempotent); must remove it from {@link SocketServer.connections}. */
  drop(connection: C): void;
}

/** Listens on `path` and serves each connection with `handler`. */
export class SocketServer<C> {
  /** The live connections. */
  readonly connections = new Set<C>();
  readonly #tasks = new Set<Promise<void>>();
  #listener?: Deno.Listener<Deno.UnixConn, Deno.UnixAddr>;

  constructor(
    readonly path: string,
    private readonly handler: ConnectionHandler<C>,
    private readonly mode = DEFAULT_SOCKET_MODE,
  ) {}

  /** Listens (the socket's directory made 0700 when missing; a stale socket replaced). */
  async start(): Promise<void> {
    if (this.#listener) throw new Error(`${this.path}: already listening`);
    await prepareSocketPath(this.path);
    const listener = Deno.listen({ transport: "unix", path: this.path });
    this.#listener = listener;
    await Deno.chmod(this.path, this.mode);
    this.#track(this.#accept(listener));
  }

  /** Stops listening, hangs up on every connection, waits for the handlers and removes the socket. */
  async close(): Promise<void> {
    this.#listener?.close();
    this.#listener = undefined;
    for (const connection of [...this.connections]) this.handler.drop(connection);
    await Promise.all(this.#tasks);
    await removeSocket(this.path);
  }

  #track(task: Promise<void>): void {
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task));
  }

  async #accept(listener: Deno.Listener<Deno.UnixConn, Deno.UnixAddr>): Promise<void> {
    try {
      for await (const conn of listener) {
        const connection = this.handler.open(conn);
        this.connections.add(connection);
        this.#track(this.handler.serve(connection));
      }
    } catch {
      // Closed by us, or failing: the agent's side falls back (polling, file locks) until it reconnects.
    }
  }
}
