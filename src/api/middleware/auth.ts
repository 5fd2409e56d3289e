/**
 * Bearer-token authentication, compared in constant time. Both sides are
 * hashed first so neither the comparison's time nor its length check tells
 * anything about the token.
 *
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { type ApiEnv, HEALTH_PATHS } from "../env.ts";
import { fail } from "../errors.ts";

/** SHA-256 of `text`: what {@linkcode bearerMatches} compares against. */
export const tokenDigest = (text: string): Uint8Array => createHash("sha256").update(text, "utf8").digest();

/** True when `header` is `Bearer <token>` for exactly `token`. Constant time in the token. */
export function bearerMatches(header: string | undefined, expected: Uint8Array): boolean {
  const match = /^Bearer +([^\s]+) *$/i.exec(header ?? "");
  const same = timingSafeEqual(tokenDigest(match?.[1] ?? ""), expected);
  return match !== null && same;
}

/** Whether a request carries the bearer token; see {@linkcode bearerCheck}. */
export type BearerCheck = (request: Request) => boolean;

/**
 * {@linkcode bearerMatches} against `token` for a request's `Authorization`
 * header, hashed once per request: the rate limit asks first (which bucket),
 * then the auth asks again.
 */
export function bearerCheck(token: string): BearerCheck {
  if (token.length === 0) throw new Error("the API needs a non-empty token");
  const expected = tokenDigest(token);
  const answered = new WeakMap<Request, boolean>();
  return (request) => {
    let matches = answered.get(request);
    if (matches === undefined) {
      matches = bearerMatches(request.headers.get("authorization") ?? undefined, expected);
      answered.set(request, matches);
    }
    return matches;
  };
}

/**
 * Refuses every request but the health probes (and `publicPaths`, which
 * authenticate themselves; `/x/*` stands for every path under `/x/`) without
 * `Authorization: Bearer <token>`: 401. `token` may be a {@linkcode bearerCheck}
 * other middleware asks too.
 */
export function bearerAuth(
  token: string | BearerCheck,
  publicPaths: readonly string[] = [],
): MiddlewareHandler<ApiEnv> {
  const carriesToken = typeof token === "string" ? bearerCheck(token) : token;
  const open = new Set([...HEALTH_PATHS, ...publicPaths.filter((p) => !p.endsWith("/*"))]);
  const prefixes = publicPaths.filter((p) => p.endsWith("/*")).map((p) => p.slice(0, -1));
  const isOpen = (path: string) => open.has(path) || prefixes.some((p) => path.startsWith(p));
  return async (c, next) => {
    if (isOpen(c.req.path) || carriesToken(c.req.raw)) return await next();
    return fail(c, 401, "unauthorized", { "WWW-Authenticate": 'Bearer realm="ironclaw"' });
  };
}
