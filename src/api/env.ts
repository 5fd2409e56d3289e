/**
 * The Hono environment of the API: what `Deno.serve` hands each request.
 *
 * @module
 */
import type { Context } from "hono";

/** Bindings: the connection info `Deno.serve` passes (absent for in-process `app.fetch`). */
export interface ApiEnv {
  Bindings: { remoteAddr?: Deno.Addr } | undefined;
}

/** Paths served without a token, a readiness check or a rate limit on their own. */
export const HEALTH_PATHS: ReadonlySet<string> = new Set(["/healthz", "/readyz"]);

/** The client's address (the rate limit's key); `in-process` for requests not from a socket. */
export function clientAddress(c: Context<ApiEnv>): string {
  const addr = c.env?.remoteAddr;
  return addr && "hostname" in addr ? addr.hostname : "in-process";
}
