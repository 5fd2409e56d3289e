/**
 * A small HTTP/1.1 client over a connection the caller opens. Two users: the
 * sandbox agent, which reaches the host's sockets over unix sockets (Deno's
 * own `fetch` cannot reach one without TCP permission for the addressed
 * host), and the host's egress broker, which must connect to the very
 * address it checked (Deno's `fetch` resolves names itself, which would
 * reopen a DNS-rebinding window).
 *
 * {@link http1Fetch} uses one connection per request (`Connection: close`):
 * what the egress broker and the MCP client send to servers on the network,
 * where no connection state may leak between calls. {@link Http1Client}
 * keeps connections alive between requests, one request in flight on each:
 * what the agent uses for the host's own per-session sockets, where a new
 * connection per call costs a dozen syscalls under gVisor's ptrace.
 *
 * @module
 */

const CRLF = "\r\n";
/** Largest status line plus headers (or chunk trailers) we accept from the server. */
const MAX_HEAD_BYTES = 64 * 1024;
const READ_CHUNK = 64 * 1024;

/** How {@link http1Fetch} and {@link Http1Client} reach the server. */
export interface Http1Options {
  /** Opens the connection (TLS already wrapped when the server speaks it). */
  connect(): Promise<Deno.Conn>;
  /**
   * The request target: `absolute` (`GET http://host/path`, as to a forward
   * proxy, which reads the upstream from it) or `origin` (`GET /path`, as to
   * the origin server itself).
   */
  target: "absolute" | "origin";
}

/** How long an {@link Http1Client} keeps unused connections. */
export interface KeepAliveOptions {
  /** An unused connection is closed after this long (default 30 s). */
  idleMs?: number;
  /** At most this many unused connections are kept (default 2); more are closed. */
  maxIdle?: number;
}

/**
 * Sends `request` over a fresh connection from `options.connect` and returns
 * the response, its body streamed from the connection, which is closed
 * after it.
 */
export async function http1Fetch(request: Request, options: Http1Options): Promise<Response> {
  const outgoing = await encodeRequest(request, { target: options.target, keepAlive: false });
  return await exchange(new ConnReader(await options.connect()), outgoing);
}

/**
 * An HTTP/1.1 client that reuses its connections: a response read to its
 * end gives its connection back for the next request (one request in flight
 * per connection), for {@link KeepAliveOptions.idleMs} at most.
 *
 * A reused connection the server has since closed (an idle timeout, a
 * restart) is detected when the request meets it: the request goes again
 * on a fresh connection only when the server provably did not take it: the
 * write was refused before a byte went (the peer had closed), or the
 * connection was reset before any answer (unix and TCP sockets reset when
 * closed with unread bytes). A clean end of stream before any answer may
 * mean the server read the request and failed: only a GET or HEAD goes
 * again then; anything else (a model call that may have reached its
 * upstream) fails as it would on a fresh connection.
 *
 * @example A client for a unix socket, closed with `using`
 * ```ts
 * import { Http1Client } from "./http1_client.ts";
 *
 * using client = new Http1Client({
 *   connect: () => Deno.connect({ transport: "unix", path: "/run/ironclaw/sock/mcp.sock" }),
 *   target: "absolute",
 * });
 * const send = () => client.fetch(new Request("http://mcp.ironclaw.internal/v1/tools"));
 * ```
 */
export class Http1Client implements Disposable {
  readonly #options: Http1Options;
  readonly #idleMs: number;
  readonly #maxIdle: number;
  /** Unused connections, the most recently used last. */
  #idle: { reader: ConnReader; timer: ReturnType<typeof setTimeout> }[] = [];
  #closed = false;

  constructor(options: Http1Options & KeepAliveOptions) {
    this.#options = options;
    this.#idleMs = options.idleMs ?? 30_000;
    this.#maxIdle = options.maxIdle ?? 2;
  }

  /**
   * Sends `request`, on an unused connection when there is one, else on a
   * new one. `onSent` is called once, as soon as the request's bytes are
   * written to a connection: a caller can start other work then, knowing the
   * request is on its way, while the answer is awaited.
   */
  async fetch(request: Request, options: SendOptions = {}): Promise<Response> {
    if (this.#closed) throw new TypeError("this HTTP client is closed");
    const outgoing = await encodeRequest(request, { target: this.#options.target, keepAlive: true });
    outgoing.onSent = options.onSent;
    const reuse = (reader: ConnReader) => this.#release(reader);
    for (;;) {
      const idle = this.#take();
      const reader = idle ?? new ConnReader(await this.#options.connect());
      try {
        return await exchange(reader, outgoing, { reuse, reused: idle !== undefined });
      } catch (err) {
        // Only a reused connection is retried: the loop ends at the latest on a fresh one.
        if (err instanceof NotTaken) continue;
        throw err;
      }
    }
  }

  /** Closes every unused connection; requests in flight finish on theirs, which then close. */
  close(): void {
    this.#closed = true;
    for (const { reader, timer } of this.#idle.splice(0)) {
      clearTimeout(timer);
      reader.close();
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #take(): ConnReader | undefined {
    const entry = this.#idle.pop();
    if (entry === undefined) return undefined;
    clearTimeout(entry.timer);
    return entry.reader;
  }

  #release(reader: ConnReader): void {
    if (this.#closed || this.#idle.length >= this.#maxIdle) return reader.close();
    const entry = {
      reader,
      timer: setTimeout(() => {
        this.#idle = this.#idle.filter((e) => e !== entry);
        reader.close();
      }, this.#idleMs),
    };
    // An unused connection never keeps the program alive.
    Deno.unrefTimer(entry.timer);
    this.#idle.push(entry);
  }
}

/** The server provably did not take the request on a reused connection: send it again on another. */
class NotTaken extends Error {}

/** What one {@link Http1Client.fetch} may be told besides its request. */
export interface SendOptions {
  /** Called once the request's bytes are written (a resend on a fresh connection does not call it again); must not throw. */
  onSent?: () => void;
}

/** A request ready to go, encoded once so that a retry sends the same bytes. */
interface Outgoing {
  request: Request;
  bytes: Uint8Array;
  keepAlive: boolean;
  /** Called after the first complete write of `bytes`, then cleared. */
  onSent?: () => void;
}

async function encodeRequest(
  request: Request,
  { target, keepAlive }: { target: Http1Options["target"]; keepAlive: boolean },
): Promise<Outgoing> {
  request.signal.throwIfAborted();
  const url = new URL(request.url);
  const body = request.body ? new Uint8Array(await request.arrayBuffer()) : undefined;
  // Absolute form is what a client sends to a forward proxy (RFC 9112 §3.2.2); Host repeats it.
  const path = `${url.pathname}${url.search}`;
  const line = target === "absolute" ? `${url.protocol}//${url.host}${path}` : path;
  const lines = [`${request.method} ${line} HTTP/1.1`, `host: ${url.host}`];
  for (const [name, value] of request.headers) {
    if (!HOP_BY_HOP.has(name)) lines.push(`${name}: ${value}`);
  }
  // We decode no compression, so ask for none. HTTP/1.1 keeps a connection alive unless told otherwise.
  lines.push("accept-encoding: identity");
  if (!keepAlive) lines.push("connection: close");
  if (body !== undefined) lines.push(`content-length: ${body.length}`);
  const head = new TextEncoder().encode(lines.join(CRLF) + CRLF + CRLF);
  if (body === undefined) return { request, bytes: head, keepAlive };
  // Head and body in one write: one syscall, and a refused write means nothing of the request went.
  const bytes = new Uint8Array(head.length + body.length);
  bytes.set(head);
  bytes.set(body, head.length);
  return { request, bytes, keepAlive };
}

/** Methods a server may receive twice without harm (RFC 9110 §9.2.2) that we send again after a silent close. */
const RESENDABLE = new Set(["GET", "HEAD"]);

/**
 * One request and its response on `reader`'s connection. With `reuse`, a
 * response read to its end gives the connection back; otherwise (or when
 * the server or the framing says no) the connection closes after it.
 */
async function exchange(
  reader: ConnReader,
  outgoing: Outgoing,
  pool?: { reuse(reader: ConnReader): void; reused: boolean },
): Promise<Response> {
  const { request } = outgoing;
  const signal = request.signal;
  const abort = () => reader.close();
  signal.addEventListener("abort", abort, { once: true });
  try {
    let head: ResponseHead;
    try {
      await reader.writeAll(outgoing.bytes);
      const onSent = outgoing.onSent;
      outgoing.onSent = undefined;
      onSent?.();
      head = await readResponseHead(reader);
    } catch (err) {
      if (pool?.reused && !signal.aborted && notTaken(err, reader, request.method)) throw new NotTaken();
      throw err;
    }
    while (head.status >= 100 && head.status < 200) head = await readResponseHead(reader);
    const reusable = pool !== undefined && outgoing.keepAlive && keepsAlive(head);
    const done = (clean: boolean) => {
      signal.removeEventListener("abort", abort);
      if (clean && reusable && reader.drained) pool.reuse(reader);
      else reader.close();
    };
    if (hasNoBody(request.method, head.status)) {
      done(true);
      return new Response(null, { status: head.status, statusText: head.statusText, headers: head.headers });
    }
    const stream = bodyStream(reader, head.headers, { done, trailers: reusable });
    return new Response(stream, { status: head.status, statusText: head.statusText, headers: head.headers });
  } catch (err) {
    signal.removeEventListener("abort", abort);
    reader.close();
    if (signal.aborted) throw signal.reason;
    throw err;
  }
}

/**
 * True when the server provably did not take the request: the peer had
 * closed before a byte of it went, or reset the connection (closing it with
 * our bytes unread) before answering; or, for a resendable method, closed
 * it cleanly before answering.
 */
function notTaken(err: unknown, reader: ConnReader, method: string): boolean {
  if (reader.received > 0) return false;
  if (
    reader.sent === 0 && (err instanceof Deno.errors.BrokenPipe || err instanceof Deno.errors.NotConnected)
  ) {
    return true;
  }
  if (err instanceof Deno.errors.ConnectionReset) return true;
  return reader.ended && RESENDABLE.has(method);
}

/** Headers this client owns; a caller's copy is dropped. */
const HOP_BY_HOP = new Set([
  "host",
  "connection",
  "content-length",
  "transfer-encoding",
  "accept-encoding",
  "keep-alive",
  "upgrade",
]);

interface ResponseHead {
  /** The minor version: 0 for an HTTP/1.0 server, which closes after each response by default. */
  minor: number;
  status: number;
  statusText: string;
  headers: Headers;
}

async function readResponseHead(reader: ConnReader): Promise<ResponseHead> {
  const text = await reader.readUntil(CRLF + CRLF, MAX_HEAD_BYTES);
  const [statusLine, ...headerLines] = text.split(CRLF);
  const match = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/.exec(statusLine);
  if (!match) throw new TypeError("the server answered with something that is not HTTP/1.x");
  const headers = new Headers();
  for (const line of headerLines) {
    const colon = line.indexOf(":");
    if (colon <= 0) throw new TypeError("the server sent a malformed header line");
    headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return { minor: Number(match[1]), status: Number(match[2]), statusText: match[3] ?? "", headers };
}

/** True when the server keeps the connection open after this response. */
function keepsAlive(head: ResponseHead): boolean {
  const tokens = (head.headers.get("connection") ?? "").toLowerCase().split(",").map((t) => t.trim());
  return head.minor === 1 ? !tokens.includes("close") : tokens.includes("keep-alive");
}

function hasNoBody(method: string, status: number): boolean {
  return method === "HEAD" || status === 204 || status === 304;
}

/**
 * The response body as a stream, framed by chunked encoding, Content-Length,
 * or end of stream. `done(clean)` is called once: clean when the body was
 * read to its framed end (with `trailers`, a chunked body's trailer section
 * too, so the connection is ready for another response).
 */
function bodyStream(
  reader: ConnReader,
  headers: Headers,
  { done, trailers }: { done: (clean: boolean) => void; trailers: boolean },
): ReadableStream<Uint8Array> {
  const chunked = /\bchunked\b/i.test(headers.get("transfer-encoding") ?? "");
  const length = headers.get("content-length");
  let remaining = chunked || length === null ? Infinity : Number(length);
  if (Number.isNaN(remaining) || remaining < 0) throw new TypeError("the server sent a bad content-length");
  let inChunk = 0;
  const finish = (controller: ReadableStreamDefaultController<Uint8Array>, framed: boolean) => {
    done(framed);
    controller.close();
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (chunked) {
          if (inChunk === 0) {
            const sizeLine = await reader.readUntil(CRLF, 1024);
            inChunk = parseInt(sizeLine.split(";")[0], 16);
            if (Number.isNaN(inChunk)) throw new TypeError("the server sent a bad chunk size");
            if (inChunk === 0) {
              if (trailers) { while (await reader.readUntil(CRLF, MAX_HEAD_BYTES) !== ""); }
              return finish(controller, trailers);
            }
          }
          const bytes = await reader.read(inChunk);
          if (bytes === null) throw new TypeError("the server closed inside a chunk");
          inChunk -= bytes.length;
          if (inChunk === 0) await reader.readUntil(CRLF, 2);
          controller.enqueue(bytes);
          return;
        }
        if (remaining === 0) return finish(controller, true);
        const bytes = await reader.read(Math.min(remaining, READ_CHUNK));
        if (bytes === null) {
          if (remaining !== Infinity) throw new TypeError("the server closed before the body ended");
          return finish(controller, false);
        }
        remaining -= bytes.length;
        controller.enqueue(bytes);
        // A sized body read to its end frees the connection now, not at the reader's next pull.
        if (remaining === 0) finish(controller, true);
      } catch (err) {
        done(false);
        controller.error(err);
      }
    },
    cancel() {
      done(false);
    },
  });
}

/** Buffered reads from a connection, and what went each way; `close` is idempotent. */
class ConnReader {
  #conn: Deno.Conn;
  #buf = new Uint8Array(0);
  #closed = false;
  /** Bytes written to the connection. */
  sent = 0;
  /** Bytes read from the connection. */
  received = 0;
  /** The server ended the stream. */
  ended = false;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** True when nothing read is left unconsumed (the connection can carry another response). */
  get drained(): boolean {
    return this.#buf.length === 0 && !this.ended && !this.#closed;
  }

  async writeAll(bytes: Uint8Array): Promise<void> {
    this.sent = 0;
    this.received = 0;
    while (this.sent < bytes.length) this.sent += await this.#conn.write(bytes.subarray(this.sent));
  }

  /** Up to `max` bytes (buffered first), or null at end of stream. */
  async read(max: number): Promise<Uint8Array | null> {
    if (this.#buf.length === 0 && !(await this.#fill())) return null;
    const out = this.#buf.slice(0, max);
    this.#buf = this.#buf.subarray(out.length);
    return out;
  }

  /** Text up to (not including) `delimiter`, which is consumed; fails past `limit` bytes. */
  async readUntil(delimiter: string, limit: number): Promise<string> {
    const needle = new TextEncoder().encode(delimiter);
    for (;;) {
      const at = indexOf(this.#buf, needle);
      if (at >= 0) {
        const text = new TextDecoder().decode(this.#buf.subarray(0, at));
        this.#buf = this.#buf.subarray(at + needle.length);
        return text;
      }
      if (this.#buf.length > limit) throw new TypeError("the server sent an over-long line");
      if (!(await this.#fill())) throw new TypeError("the server closed mid-response");
    }
  }

  async #fill(): Promise<boolean> {
    if (this.#closed || this.ended) return false;
    const chunk = new Uint8Array(READ_CHUNK);
    const n = await this.#conn.read(chunk);
    if (n === null) {
      this.ended = true;
      return false;
    }
    this.received += n;
    if (this.#buf.length === 0) {
      this.#buf = chunk.subarray(0, n);
      return true;
    }
    const merged = new Uint8Array(this.#buf.length + n);
    merged.set(this.#buf);
    merged.set(chunk.subarray(0, n), this.#buf.length);
    this.#buf = merged;
    return true;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch { /* already closed by the peer */ }
  }
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  // The native scan for the first byte keeps this fast on long heads.
  for (let i = haystack.indexOf(needle[0]); i >= 0; i = haystack.indexOf(needle[0], i + 1)) {
    if (i + needle.length > haystack.length) return -1;
    let j = 1;
    while (j < needle.length && haystack[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}
