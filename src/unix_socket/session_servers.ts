/**
 * HTTP/1.1 servers on unix sockets, one per session: the shape of every
 * host service a sandbox reaches through its own socket (the model proxy,
 * the egress broker). The socket a request arrives on is the caller's
 * identity, so each server is opened with its session's handler.
 *
 * @module
 */
import type { SessionId } from "../../contract/ids.ts";
import { DEFAULT_SOCKET_MODE, prepareSocketPath, removeSocket } from "./socket_file.ts";

/** Serves one request of the session; `signal` aborts when the session closes. */
export type SessionHandler = (req: Request, signal: AbortSignal) => Response | Promise<Response>;

interface Open {
  socketPath: string;
  abort: AbortController;
  server?: Deno.HttpServer<Deno.UnixAddr>;
}

/** The open sessions of one service. */
export class SessionServers {
  readonly #sessions = new Map<SessionId, Open>();

  /** `service` names the owner in messages (`model-proxy`, `egress`); `mode` is each socket file's. */
  constructor(private readonly service: string, private readonly mode: number = DEFAULT_SOCKET_MODE) {}

  /**
   * Starts serving `session` on `socketPath` with `handler`: creates the
   * parent directory 0700 when missing, replaces a stale socket, and sets the
   * socket's mode. A session already open is an error.
   */
  async open(session: SessionId, socketPath: string, handler: SessionHandler): Promise<void> {
    if (this.#sessions.has(session)) throw new Error(`${this.service}: session ${session} is already open`);
    const entry: Open = { socketPath, abort: new AbortController() };
    this.#sessions.set(session, entry);
    try {
      await prepareSocketPath(socketPath);
      entry.server = Deno.serve(
        { transport: "unix", path: socketPath, onListen() {} },
        (req) => handler(req, entry.abort.signal),
      );
      await Deno.chmod(socketPath, this.mode);
    } catch (error) {
      await this.close(session);
      throw error;
    }
  }

  /** Stops serving `session`: aborts its requests in flight and removes its socket. Unknown sessions are ignored. */
  async close(session: SessionId): Promise<void> {
    const entry = this.#sessions.get(session);
    if (entry === undefined) return;
    this.#sessions.delete(session);
    // A plain reason: Deno prints the error of a relayed stream cut short, and a stack is noise.
    entry.abort.abort(`${this.service}: session ${session} closed`);
    await entry.server?.shutdown();
    await removeSocket(entry.socketPath);
  }

  /** Closes every session. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.#sessions.keys()].map((s) => this.close(s)));
  }
}
