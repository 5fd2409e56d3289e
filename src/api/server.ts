/**
 * Serving the API with `Deno.serve`, and parsing `--api-addr`.
 *
 * @module
 */
import type { ControlPlane } from "../control_plane/mod.ts";
import { logger } from "../log/mod.ts";
import { type ApiOptions, createApiApp } from "./app.ts";
import { type ApiFront, type FrontLimits, startFront } from "./front.ts";
import { allowedHostNames } from "./middleware/edge_guard.ts";

/** `--api-addr` when none is given: loopback only. */
export const DEFAULT_API_ADDR = "127.0.0.1:8787";

/**
 * Splits `host:port` (IPv6 as `[::1]:8787`) into its parts. Throws one line
 * naming what is wrong.
 */
export function parseApiAddr(addr: string): { hostname: string; port: number } {
  const hint = `expected host:port such as ${DEFAULT_API_ADDR} or [::1]:8787`;
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]/]+)):(\d{1,5})$/.exec(addr.trim());
  if (!match) throw new Error(`invalid API address ${JSON.stringify(addr)}: ${hint}`);
  const port = Number(match[3]);
  if (port > 65535) {
    throw new Error(`invalid API address ${JSON.stringify(addr)}: port ${port} is over 65535`);
  }
  return { hostname: match[1] ?? match[2], port };
}

/** Where and how to serve. */
export interface ApiServerOptions extends ApiOptions {
  hostname: string;
  /** 0 picks a free port (see {@linkcode ApiServer.url}). */
  port: number;
  /** Aborting it shuts the server down. */
  signal?: AbortSignal;
  /** Connection cap and header, body and idle timeouts (default `DEFAULT_FRONT_LIMITS`). */
  connectionLimits?: Partial<FrontLimits>;
  /** Names besides the bound address (and, on loopback, `localhost`) the `Host` header may carry. */
  hostNames?: readonly string[];
}

/** A listening API. */
export interface ApiServer {
  /** The base URL, e.g. `http://127.0.0.1:8787` (with the real port when 0 was asked for). */
  readonly url: string;
  /** Stops accepting, finishes requests in flight, and resolves once closed. */
  shutdown(): Promise<void>;
  /** Resolves once the server has closed. */
  readonly finished: Promise<void>;
}

/** Serves the API over `plane` on `hostname:port`. */
export function startApiServer(plane: ControlPlane, options: ApiServerOptions): ApiServer {
  const app = createApiApp(plane, {
    ...options,
    allowedHosts: options.allowedHosts ?? allowedHostNames(options.hostname, options.hostNames),
  });
  // Deno.serve listens on a loopback port behind the front, which bounds connections (see front.ts).
  let front: ApiFront | undefined;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: options.signal, onListen: () => {} },
    (request, info) => {
      const client = front?.clientOf(info.remoteAddr.port);
      if (!client) return Response.json({ error: "connect through the API's own address" }, { status: 403 });
      return app.fetch(request, { remoteAddr: client });
    },
  );
  try {
    front = startFront({ hostname: options.hostname, port: options.port }, {
      upstreamPort: server.addr.port,
      limits: options.connectionLimits,
      signal: options.signal,
    });
  } catch (err) {
    void server.shutdown();
    throw err;
  }
  const addr = front.addr;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  const url = `http://${host}:${addr.port}`;
  logger("api").info("listening on {url}", { url });
  const opened = front;
  return {
    url,
    shutdown: async () => {
      opened.stopAccepting();
      await server.shutdown();
      opened.close();
    },
    finished: server.finished.then(() => opened.close()),
  };
}
