/**
 * Reaching a platform at start-up, the same on every channel: the first
 * steps are tried until they succeed or the channel stops, waiting 1 s,
 * 2 s, … up to a minute between tries, so a platform that is down when the
 * host starts is waited for and logged, never thrown.
 *
 * @module
 */
import { abortableSleep } from "./sleep.ts";

const FIRST_MS = 1_000;
const MAX_MS = 60_000;

/** Doubling waits between tries, from 1 s up to a minute. */
export class Backoff {
  #ms = FIRST_MS;

  /** Waits the current delay (cut short when `signal` aborts), then doubles it. */
  async pause(signal?: AbortSignal): Promise<void> {
    await abortableSleep(this.#ms, signal).catch(() => {});
    this.#ms = Math.min(this.#ms * 2, MAX_MS);
  }

  /** Back to 1 s, after a success. */
  reset(): void {
    this.#ms = FIRST_MS;
  }
}

/** How {@link retryUntilStarted} tries. */
export interface StartRetryOptions {
  /** False once the channel stops: no further try, and a failure then is not logged. */
  running: () => boolean;
  /** Logs a failed try (it will be tried again). */
  onFailure: (err: unknown) => void;
  /** A stop's signal, cutting a wait short; without it a wait runs out. */
  signal?: AbortSignal;
  /** The waits, when the caller goes on with them after start-up (Telegram's polling). */
  backoff?: Backoff;
}

/**
 * Runs `attempt` until it resolves (its value) or the channel stops (undefined).
 *
 * @example
 * ```ts
 * let tries = 0;
 * const connected = await retryUntilStarted(
 *   () => ++tries < 2 ? Promise.reject(new Error("not reachable yet")) : Promise.resolve("connected"),
 *   { running: () => true, onFailure: (err) => console.warn(`retrying: ${err}`) },
 * ); // "connected", after one failure and a 1 s wait
 * ```
 */
export async function retryUntilStarted<T>(
  attempt: () => Promise<T>,
  options: StartRetryOptions,
): Promise<T | undefined> {
  const backoff = options.backoff ?? new Backoff();
  while (options.running()) {
    try {
      return await attempt();
    } catch (err) {
      if (!options.running()) return undefined;
      options.onFailure(err);
      await backoff.pause(options.signal);
    }
  }
  return undefined;
}
