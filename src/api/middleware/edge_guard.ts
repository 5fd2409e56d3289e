/**
 * Two refusals before anything else looks at a request:
 *
 * - `TRACE`, `TRACK` and `CONNECT` answer 405 (with `Allow`), also on the
 *   token-free `/healthz`: they are not methods of this API, and must not reach
 *   code that would fail on them.
 * - A `Host` that is not this API's answers 421: a DNS-rebinding page reaches
 *   the loopback API under its own domain name, which is never on the list.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { ApiEnv } from "../env.ts";
import { fail } from "../errors.ts";

const REFUSED_METHODS = new Set(["TRACE", "TRACK", "CONNECT"]);

/** Refuses TRACE, TRACK and CONNECT with 405. */
export function refuseTraceMethods(): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    if (!REFUSED_METHODS.has(c.req.method.toUpperCase())) return await next();
    return fail(c, 405, `method ${c.req.method} is not allowed`, {
      Allow: "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS",
    });
  };
}

/** The host name of a `Host` header value (`[::1]:8787` → `::1`), lower-cased. */
export function hostNameOf(host: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(host);
  if (bracketed) return bracketed[1].toLowerCase();
  return host.replace(/:\d+$/, "").toLowerCase();
}

/** Whether a host name (as {@link hostNameOf} gives it) names this machine's loopback. */
export function isLoopbackName(name: string): boolean {
  return name === "localhost" || name === "::1" || /^127(?:\.\d{1,3}){3}$/.test(name);
}

/** The names a server bound to `hostname` answers to: it, the loopback names when it is loopback, and `extra`. */
export function allowedHostNames(hostname: string, extra: readonly string[] = []): string[] {
  const bound = hostNameOf(hostname.includes(":") && !hostname.startsWith("[") ? `[${hostname}]` : hostname);
  const loopback = isLoopbackName(bound);
  return [
    ...new Set([bound, ...(loopback ? ["localhost", "127.0.0.1", "::1"] : []), ...extra.map(hostNameOf)]),
  ];
}

/**
 * Refuses a request whose `Host` is not in `names` with 421. A wildcard bind
 * (`0.0.0.0`, `::`) accepts any IP literal: rebinding always carries a name.
 */
export function requireHost(names: readonly string[]): MiddlewareHandler<ApiEnv> {
  const allowed = new Set(names.map(hostNameOf));
  const wildcard = allowed.has("0.0.0.0") || allowed.has("::");
  return async (c, next) => {
    const host = hostNameOf(c.req.header("host") ?? "");
    const ipLiteral = /^[\d.]+$/.test(host) || host.includes(":");
    if (allowed.has(host) || (wildcard && ipLiteral)) return await next();
    return fail(
      c,
      421,
      `Host ${
        JSON.stringify(host)
      } is not this API's (serve --api-host NAME allows a name, e.g. a reverse proxy's)`,
    );
  };
}
