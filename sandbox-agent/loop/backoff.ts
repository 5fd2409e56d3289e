/**
 * Backoff after failed model calls: exponential from a base, capped, with
 * equal jitter (uniform in [d/2, d]), and a breaker that opens after a run
 * of failures so an outage is logged once and retried at the cap.
 *
 * @module
 */

/** The delay before retry `attempt` (1 = first retry). */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  capMs: number,
  random: () => number = Math.random,
): number {
  const full = Math.min(baseMs * 2 ** Math.max(0, attempt - 1), capMs);
  return full / 2 + random() * (full / 2);
}

/** Breaker settings. */
export interface BreakerOptions {
  baseMs: number;
  capMs?: number;
  /** Consecutive failures that open the breaker. */
  threshold?: number;
  random?: () => number;
}

/** Counts consecutive model failures. */
export class ModelBreaker {
  #failures = 0;
  readonly baseMs: number;
  readonly capMs: number;
  readonly threshold: number;
  #random: () => number;

  constructor({ baseMs, capMs = 60_000, threshold = 5, random = Math.random }: BreakerOptions) {
    this.baseMs = baseMs;
    this.capMs = capMs;
    this.threshold = threshold;
    this.#random = random;
  }

  /** Records a failure: the delay before the next try, and whether this failure opened the breaker. */
  failure(): { delayMs: number; opened: boolean } {
    this.#failures++;
    // Once open, every retry waits the full cap.
    const attempt = this.open ? Number.POSITIVE_INFINITY : this.#failures;
    const delayMs = backoffDelay(attempt, this.baseMs, this.capMs, this.#random);
    return { delayMs, opened: this.#failures === this.threshold };
  }

  /** Records a success; true when it closed an open breaker. */
  success(): boolean {
    const wasOpen = this.open;
    this.#failures = 0;
    return wasOpen;
  }

  /** True after `threshold` consecutive failures. */
  get open(): boolean {
    return this.#failures >= this.threshold;
  }

  /** Consecutive failures so far. */
  get failures(): number {
    return this.#failures;
  }
}
