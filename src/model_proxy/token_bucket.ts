/**
 * A token bucket: `burst` tokens at most, refilled at `perSecond`.
 *
 * @module
 */

/** A rate cap: sustained requests per second and the burst allowed on top. */
export interface RateLimit {
  /** Sustained rate; 0 disables the cap. */
  perSecond: number;
  /** Bucket size: how many requests may arrive at once. */
  burst: number;
}

/** The model proxy's default per-session cap. */
export const DEFAULT_RATE_LIMIT: RateLimit = { perSecond: 50, burst: 100 };

/** One caller's bucket. Starts full. */
export class TokenBucket {
  #tokens: number;
  #last: number;

  /** `now` is a monotonic clock in milliseconds (injected by tests). */
  constructor(readonly limit: RateLimit, private readonly now: () => number = () => performance.now()) {
    this.#tokens = limit.burst;
    this.#last = now();
  }

  /** Takes one token; false when the bucket is empty. */
  take(): boolean {
    const now = this.now();
    this.#tokens = Math.min(
      this.limit.burst,
      this.#tokens + ((now - this.#last) / 1000) * this.limit.perSecond,
    );
    this.#last = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
