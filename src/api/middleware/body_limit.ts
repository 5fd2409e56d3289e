/**
 * The request-body cap. The body is read here, counting the bytes that
 * actually arrive (a missing or understated Content-Length changes nothing),
 * and handed on buffered; over the cap is a 413 before any handler runs.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { readCapped } from "../../http/mod.ts";
import type { ApiEnv } from "../env.ts";
import { fail } from "../errors.ts";

/** The bytes each request body was buffered to, for later middleware to read without cloning the stream. */
const buffered = new WeakMap<Request, Uint8Array>();

/** The body `bodyLimit` buffered for `request`, if it did (read-only by convention: the handler reads it too). */
export function bufferedBody(request: Request): Uint8Array | undefined {
  return buffered.get(request);
}

/** The default cap: 256 KiB. */
export const DEFAULT_BODY_LIMIT_BYTES = 256 * 1024;

/** Buffers each request body up to `maxBytes`; more is `413 {"error"}`. */
export function bodyLimit(maxBytes: number): MiddlewareHandler<ApiEnv> {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new RangeError(`body limit must be a whole number of bytes, got ${maxBytes}`);
  }
  const tooLarge = `request body is over the ${maxBytes}-byte limit`;
  return async (c, next) => {
    const raw = c.req.raw;
    if (raw.body === null) return await next();
    const declared = Number(raw.headers.get("content-length") ?? "0");
    if (declared > maxBytes) {
      await raw.body.cancel().catch(() => {});
      return fail(c, 413, tooLarge);
    }
    const bytes = await readCapped(raw.body, maxBytes);
    if (bytes === undefined) return fail(c, 413, tooLarge);
    // Not `new Request(raw, …)`: that copies (and so touches) the connection's abort signal.
    c.req.raw = new Request(raw.url, { method: raw.method, headers: raw.headers, body: bytes });
    buffered.set(c.req.raw, bytes);
    await next();
  };
}
