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

const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();

/** True when `header` is `Bearer <token>` for exactly `token`. Constant time in the token. */
export function bearerMatches(header: string | undefined, expected: Uint8Array): boolean {
  const match = /^Bearer +([^\s]+) *$/i.exec(header ?? "");
  const same = timingSafeEqual(digest(match?.[1] ?? ""), expected);
  return match !== null && same;
}

/** Refuses every request but the health probes without `Authorization: Bearer <token>`: 401. */
export function bearerAuth(token: string): MiddlewareHandler<ApiEnv> {
  if (token.length === 0) throw new Error("the API needs a non-empty token");
  const expected = digest(token);
  return async (c, next) => {
    if (HEALTH_PATHS.has(c.req.path) || bearerMatches(c.req.header("authorization"), expected)) {
      return await next();
    }
    return fail(c, 401, "unauthorized", { "WWW-Authenticate": 'Bearer realm="ironclaw"' });
  };
}
