/**
 * The API's front door: a TCP listener that bounds every connection before
 * its bytes reach `Deno.serve` (which has no header or body timeout and no
 * connection limit of its own: a slow-header connection stayed open forever).
 *
 * - At most `maxConnections` at once; one more is answered 503 and closed.
 * - A request head must be complete `headerTimeoutMs` after its first byte
 *   (the first one: after the connection opened), and be at most 64 KiB.
 * - A `Content-Length` body must be complete `bodyTimeoutMs` after its head;
 *   a chunked body (and anything after it on that connection) is held to the
 *   idle limit only.
 * - A connection with no byte in either direction for `idleTimeoutMs` is closed.
 *
 * Bytes pass through unchanged to the API server on a loopback port; the API
 * learns each request's real client address from the port the front connected
 * from ({@linkcode ApiFront.clientOf}), and refuses requests that did not come
 * through the front.
 *
 * @module
 */
import { logger } from "../log/mod.ts";

/** The front's limits. */
export interface FrontLimits {
  maxConnections: number;
  headerTimeoutMs: number;
  bodyTimeoutMs: number;
  idleTimeoutMs: number;
}

/** The defaults: 256 connections, 10 s for a head, 30 s for a body, 60 s idle (a chat drain waits up to 30 s). */
export const DEFAULT_FRONT_LIMITS: FrontLimits = {
  maxConnections: 256,
  headerTimeoutMs: 10_000,
  bodyTimeoutMs: 30_000,
  idleTimeoutMs: 60_000,
};

const MAX_HEAD_BYTES = 64 * 1024;
const HEAD_END = new TextEncoder().encode("\r\n\r\n");
const BUSY_BODY = '{"error":"too many connections; retry later"}';
const BUSY = new TextEncoder().encode(
  "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: application/json\r\n" +
    `Content-Length: ${BUSY_BODY.length}\r\n\r\n${BUSY_BODY}`,
);

/** A running front. */
export interface ApiFront {
  readonly addr: Deno.NetAddr;
  /** The client address behind the front's connection from local port `port`, if it is one of the front's. */
  clientOf(port: number): Deno.NetAddr | undefined;
  /** Connections open now. */
  readonly open: number;
  /** Stops accepting new connections (those open carry on). */
  stopAccepting(): void;
  /** Stops accepting and closes every connection. */
  close(): void;
}

/** One client connection as the front sees it. */
interface Tracked {
  client: Deno.TcpConn;
  upstream?: Deno.TcpConn;
  lastByte: number;
  /** When the current deadline runs out (head or body), or undefined between requests. */
  deadline?: number;
  why?: string;
  closed: boolean;
}

/**
 * Listens on `listen` and relays each connection to `upstreamPort` on
 * 127.0.0.1 under `limits`. The clock is `performance.now()`.
 */
export function startFront(
  listen: { hostname: string; port: number },
  options: { upstreamPort: number; limits?: Partial<FrontLimits>; signal?: AbortSignal },
): ApiFront {
  const limits = { ...DEFAULT_FRONT_LIMITS, ...options.limits };
  const listener = Deno.listen({ hostname: listen.hostname, port: listen.port, transport: "tcp" });
  const log = logger("api", "front");
  const tracked = new Set<Tracked>();
  const byPort = new Map<number, Deno.NetAddr>();

  const end = (t: Tracked, why?: string) => {
    if (t.closed) return;
    t.closed = true;
    if (why) {
      log.info("closed a connection from {client}: {why}", { client: t.client.remoteAddr.hostname, why });
    }
    for (const conn of [t.client, t.upstream]) {
      try {
        conn?.close();
      } catch { /* already closed */ }
    }
    if (t.upstream) byPort.delete(t.upstream.localAddr.port);
    tracked.delete(t);
  };

  const sweep = setInterval(() => {
    const now = performance.now();
    for (const t of tracked) {
      if (t.deadline !== undefined && now > t.deadline) end(t, t.why);
      else if (now - t.lastByte > limits.idleTimeoutMs) end(t, `idle for ${limits.idleTimeoutMs / 1000} s`);
    }
  }, Math.min(500, limits.headerTimeoutMs / 4));
  Deno.unrefTimer(sweep);

  const serve = async (client: Deno.TcpConn) => {
    const now = performance.now();
    const t: Tracked = {
      client,
      lastByte: now,
      deadline: now + limits.headerTimeoutMs,
      why: `no complete request head within ${limits.headerTimeoutMs / 1000} s`,
      closed: false,
    };
    tracked.add(t);
    try {
      const upstream = await Deno.connect({ hostname: "127.0.0.1", port: options.upstreamPort });
      t.upstream = upstream;
      byPort.set(upstream.localAddr.port, client.remoteAddr);
      if (t.closed) return upstream.close();
      await Promise.all([relayRequests(t, upstream), relay(upstream, client, t)]);
    } catch {
      // A reset or a close from the other side: nothing to tell anyone.
    } finally {
      end(t);
    }
  };

  /** Client → API, watching where each request head and `Content-Length` body ends. */
  const relayRequests = async (t: Tracked, upstream: Deno.TcpConn) => {
    const buf = new Uint8Array(64 * 1024);
    let head: number[] | undefined = []; // bytes of the head being read; undefined: opaque (chunked)
    let bodyLeft = 0;
    while (true) {
      const n = await t.client.read(buf);
      if (n === null) break;
      const now = performance.now();
      t.lastByte = now;
      let chunk = buf.subarray(0, n);
      await writeAll(upstream, chunk);
      while (head !== undefined && chunk.length > 0) {
        if (bodyLeft > 0) {
          const used = Math.min(bodyLeft, chunk.length);
          bodyLeft -= used;
          chunk = chunk.subarray(used);
          if (bodyLeft === 0) t.deadline = undefined;
          continue;
        }
        if (head.length === 0 && t.deadline === undefined) {
          t.deadline = now + limits.headerTimeoutMs;
          t.why = `no complete request head within ${limits.headerTimeoutMs / 1000} s`;
        }
        const at = headEnd(head, chunk);
        if (at === -1) {
          for (const b of chunk) head.push(b);
          if (head.length > MAX_HEAD_BYTES) return end(t, "request head over 64 KiB");
          break;
        }
        for (const b of chunk.subarray(0, at)) head.push(b);
        chunk = chunk.subarray(at);
        const framing = bodyFraming(new TextDecoder().decode(new Uint8Array(head)));
        head = [];
        t.deadline = undefined;
        if (framing === "chunked") {
          head = undefined;
        } else if (framing > 0) {
          bodyLeft = framing;
          t.deadline = now + limits.bodyTimeoutMs;
          t.why = `request body not complete within ${limits.bodyTimeoutMs / 1000} s`;
        }
      }
    }
    // The client finished sending: let the API see the end, keep relaying its answer.
    await upstream.closeWrite().catch(() => {});
  };

  const relay = async (from: Deno.TcpConn, to: Deno.TcpConn, t: Tracked) => {
    const buf = new Uint8Array(64 * 1024);
    while (true) {
      const n = await from.read(buf);
      if (n === null) break;
      t.lastByte = performance.now();
      await writeAll(to, buf.subarray(0, n));
    }
    end(t);
  };

  const accepting = (async () => {
    for await (const client of listener) {
      if (tracked.size >= limits.maxConnections) {
        log.warn("refused a connection from {client}: {open} open (the cap)", {
          client: client.remoteAddr.hostname,
          open: tracked.size,
        });
        client.write(BUSY).catch(() => {}).finally(() => client.close());
        continue;
      }
      serve(client);
    }
  })().catch(() => {});

  const stopAccepting = () => {
    try {
      listener.close();
    } catch { /* already closed */ }
  };
  const close = () => {
    clearInterval(sweep);
    stopAccepting();
    for (const t of [...tracked]) end(t);
    void accepting;
  };
  options.signal?.addEventListener("abort", close, { once: true });

  return {
    addr: listener.addr as Deno.NetAddr,
    clientOf: (port) => byPort.get(port),
    stopAccepting,
    get open() {
      return tracked.size;
    },
    close,
  };
}

/** Where `HEAD_END` completes in `head` + `chunk`, as an offset into `chunk` just past it; -1 if it does not. */
function headEnd(head: number[], chunk: Uint8Array): number {
  // The terminator may straddle the two: check the last three bytes of `head` with the start of `chunk`.
  const tail = head.slice(-3);
  const joined = new Uint8Array(tail.length + chunk.length);
  joined.set(tail);
  joined.set(chunk, tail.length);
  for (let i = 0; i + HEAD_END.length <= joined.length; i++) {
    if (HEAD_END.every((b, j) => joined[i + j] === b)) return i + HEAD_END.length - tail.length;
  }
  return -1;
}

/** The body that follows a request head: its `Content-Length` (0 when none), or `chunked`. */
function bodyFraming(head: string): number | "chunked" {
  if (/^transfer-encoding:.*chunked/im.test(head)) return "chunked";
  const length = /^content-length:\s*(\d+)\s*$/im.exec(head);
  return length ? Number(length[1]) : 0;
}

async function writeAll(conn: Deno.TcpConn, bytes: Uint8Array): Promise<void> {
  let rest = bytes;
  while (rest.length) rest = rest.subarray(await conn.write(rest));
}
