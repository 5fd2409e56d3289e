/**
 * Flood control: an API transformer that honours Telegram's `retry_after`.
 * A call answered 429 with `parameters.retry_after` is repeated after that
 * many seconds, a few times at most; a longer wait than the cap, or one
 * attempt too many, hands the 429 to the caller (delivery then retries the
 * row on a later pass). Network failures are not retried here.
 *
 * @module
 */
import { abortableSleep } from "../kit/mod.ts";
import type { Transformer } from "./grammy.ts";

/** How 429 answers are retried. */
export interface RetryOptions {
  /** Retries of one call (default 3). */
  maxRetries?: number;
  /** Longest `retry_after` waited for, in seconds (default 60); a longer one is returned as the error. */
  maxDelaySeconds?: number;
  /** Waits `ms`; rejects when `signal` aborts. Injectable so tests see every wait. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Told before each wait. */
  onRetry?: (info: RetryInfo) => void;
}

/** One retry about to happen. */
export interface RetryInfo {
  method: string;
  /** 1 for the first retry. */
  attempt: number;
  delayMs: number;
}

/** Default retries of one call. */
export const DEFAULT_MAX_RETRIES = 3;
/** Default longest wait, in seconds. */
export const DEFAULT_MAX_DELAY_SECONDS = 60;

/** The transformer; install it with `api.config.use(retryAfter())`. */
export function retryAfter(options: RetryOptions = {}): Transformer {
  const maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
  const maxDelay = options.maxDelaySeconds ?? DEFAULT_MAX_DELAY_SECONDS;
  const sleep = options.sleep ?? abortableSleep;
  return async (prev, method, payload, signal) => {
    for (let attempt = 1;; attempt++) {
      const result = await prev(method, payload, signal);
      if (result.ok || result.error_code !== 429) return result;
      const seconds = result.parameters?.retry_after;
      if (seconds === undefined || !(seconds >= 0) || seconds > maxDelay || attempt > maxRetries) {
        return result;
      }
      const delayMs = Math.ceil(seconds * 1000);
      options.onRetry?.({ method, attempt, delayMs });
      await sleep(delayMs, signal as AbortSignal | undefined);
    }
  };
}
