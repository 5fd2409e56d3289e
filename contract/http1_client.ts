/**
 * A small HTTP/1.1 client over a connection the caller opens. Two users: the
 * sandbox agent, which reaches the host's sockets over unix sockets (Deno's
 * own `fetch` cannot reach one without TCP permission for the addressed
 * host), and the host's egress broker, which must connect to the very
 * address it checked (Deno's `fetch` resolves names itself, which would
 * reopen a DNS-rebinding window).
 *
 * One connection per request (`Connection: close`): no connection state can
 * leak between calls.
 *
 * @module
 */

const CRLF = "\r\n";
/** Largest status line plus headers we accept from the proxy. */
const MAX_HEAD_BYTES = 64 * 1024;
const READ_CHUNK = 64 * 1024;

/** How {@link http1Fetch} reaches the server. */
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

/**
 * Sends `request` over a fresh connection from `options.connect` and returns
 * the response, its body streamed from the connection.
 */
export async function http1Fetch(request: Request, options: Http1Options): Promise<Response> {
  const signal = request.signal;
  signal.throwIfAborted();
  const url = new URL(request.url);
  const body = request.body ? new Uint8Array(await request.arrayBuffer()) : undefined;
  const conn = await options.connect();
  const reader = new ConnReader(conn);
  const abort = () => reader.close();
  signal.addEventListener("abort", abort, { once: true });
  try {
    await writeAll(
      conn,
      encodeRequestHead(request, { url, target: options.target, bodyLength: body?.length }),
    );
    if (body) await writeAll(conn, body);
    let head = await readResponseHead(reader);
    while (head.status >= 100 && head.status < 200) head = await readResponseHead(reader);
    const stream = hasNoBody(request.method, head.status) ? null : bodyStream(reader, head.headers, () => {
      signal.removeEventListener("abort", abort);
    });
    if (stream === null) {
      signal.removeEventListener("abort", abort);
      reader.close();
    }
    return new Response(stream, { status: head.status, statusText: head.statusText, headers: head.headers });
  } catch (err) {
    signal.removeEventListener("abort", abort);
    reader.close();
    if (signal.aborted) throw signal.reason;
    throw err;
  }
}

function encodeRequestHead(
  request: Request,
  { url, target, bodyLength }: { url: URL; target: Http1Options["target"]; bodyLength: number | undefined },
): Uint8Array {
  // Absolute form is what a client sends to a forward proxy (RFC 9112 §3.2.2); Host repeats it.
  const path = `${url.pathname}${url.search}`;
  const line = target === "absolute" ? `${url.protocol}//${url.host}${path}` : path;
  const lines = [`${request.method} ${line} HTTP/1.1`, `host: ${url.host}`];
  for (const [name, value] of request.headers) {
    if (!HOP_BY_HOP.has(name)) lines.push(`${name}: ${value}`);
  }
  // We decode no compression, so ask for none.
  lines.push("accept-encoding: identity", "connection: close");
  if (bodyLength !== undefined) lines.push(`content-length: ${bodyLength}`);
  return new TextEncoder().encode(lines.join(CRLF) + CRLF + CRLF);
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
  status: number;
  statusText: string;
  headers: Headers;
}

async function readResponseHead(reader: ConnReader): Promise<ResponseHead> {
  const text = await reader.readUntil(CRLF + CRLF, MAX_HEAD_BYTES);
  const [statusLine, ...headerLines] = text.split(CRLF);
  const match = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine);
  if (!match) throw new TypeError("the server answered with something that is not HTTP/1.x");
  const headers = new Headers();
  for (const line of headerLines) {
    const colon = line.indexOf(":");
    if (colon <= 0) throw new TypeError("the server sent a malformed header line");
    headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return { status: Number(match[1]), statusText: match[2] ?? "", headers };
}

function hasNoBody(method: string, status: number): boolean {
  return method === "HEAD" || status === 204 || status === 304;
}

/** The response body as a stream, framed by chunked encoding, Content-Length, or end of stream. */
function bodyStream(reader: ConnReader, headers: Headers, done: () => void): ReadableStream<Uint8Array> {
  const chunked = /\bchunked\b/i.test(headers.get("transfer-encoding") ?? "");
  const length = headers.get("content-length");
  let remaining = chunked || length === null ? Infinity : Number(length);
  if (Number.isNaN(remaining) || remaining < 0) throw new TypeError("the server sent a bad content-length");
  let inChunk = 0;
  const finish = (controller: ReadableStreamDefaultController<Uint8Array>) => {
    done();
    reader.close();
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
            if (inChunk === 0) return finish(controller);
          }
          const bytes = await reader.read(inChunk);
          if (bytes === null) throw new TypeError("the server closed inside a chunk");
          inChunk -= bytes.length;
          if (inChunk === 0) await reader.readUntil(CRLF, 2);
          controller.enqueue(bytes);
          return;
        }
        if (remaining === 0) return finish(controller);
        const bytes = await reader.read(Math.min(remaining, READ_CHUNK));
        if (bytes === null) {
          if (remaining !== Infinity) throw new TypeError("the server closed before the body ended");
          return finish(controller);
        }
        remaining -= bytes.length;
        controller.enqueue(bytes);
      } catch (err) {
        done();
        reader.close();
        controller.error(err);
      }
    },
    cancel() {
      done();
      reader.close();
    },
  });
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.length;) written += await conn.write(bytes.subarray(written));
}

/** Buffered reads from a connection; `close` is idempotent. */
class ConnReader {
  #conn: Deno.Conn;
  #buf = new Uint8Array(0);
  #closed = false;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
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
    if (this.#closed) return false;
    const chunk = new Uint8Array(READ_CHUNK);
    const n = await this.#conn.read(chunk);
    if (n === null) return false;
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
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
