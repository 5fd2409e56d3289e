/**
 * A token bucket per client address. Over the limit is a 429 with
 * `Retry-After` (whole seconds until a token is back). Idle buckets are full
 * buckets, so they are forgotten once there are many.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { TokenBucket } from "../../model_proxy/mod.ts";
import { type ApiEnv, clientAddress } from "../env.ts";
import { fail } from "../errors.ts";

/** Sustained requests per second per client, and the burst allowed on top. */
export interface ApiRateLimit {
  ratePerSecond: number;
  burst: number;
}

/** The default for requests that carry the token: 20 requests a second, bursts of 40. */
export const DEFAULT_API_RATE_LIMIT: ApiRateLimit = { ratePerSecond: 20, burst: 40 };

/**
 * The default for requests without the token (health probes, the Telegram
 * webhook, and every refused guess): a bucket of their own, so a local process
 * or a web page's no-cors requests can use it up without locking the operator out.
 */
export const DEFAULT_ANONYMOUS_RATE_LIMIT: ApiRateLimit = { ratePerSecond: 10, burst: 20 };

/** Buckets kept before idle ones are swept. */
const SWEEP_AT = 4096;

/** Limits each client address to `limit`; `now` is a monotonic clock in ms (tests inject one). */
export function rateLimit(
  limit: ApiRateLimit,
  now: () => number = () => performance.now(),
): MiddlewareHandler<ApiEnv> {
  const { ratePerSecond, burst } = limit;
  if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond) || !(burst >= 1) || !Number.isFinite(burst)) {
    throw new RangeError(`rate limit needs a finite rate > 0 and a burst >= 1, got ${JSON.stringify(limit)}`);
  }
  const buckets = new Map<string, { bucket: TokenBucket; seen: number }>();
  const refillMs = (burst / ratePerSecond) * 1000;
  const retryAfter = String(Math.max(1, Math.ceil(1 / ratePerSecond)));
  return async (c, next) => {
    const client = clientAddress(c);
    const at = now();
    let entry = buckets.get(client);
    if (!entry) {
      if (buckets.size >= SWEEP_AT) {
        for (const [key, e] of buckets) if (at - e.seen >= refillMs) buckets.delete(key);
      }
      entry = { bucket: new TokenBucket({ perSecond: ratePerSecond, burst }, now), seen: at };
      buckets.set(client, entry);
    }
    entry.seen = at;
    if (!entry.bucket.take()) {
      return fail(c, 429, "too many requests", { "Retry-After": retryAfter });
    }
    await next();
  };
}
