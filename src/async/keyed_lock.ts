/**
 * Per-key serialisation: work for one key (a session) runs one piece at a
 * time, in call order; work for different keys runs freely.
 *
 * @module
 */

/** A queue of promises per key. */
export class KeyedLock<K> {
  #tails = new Map<K, Promise<unknown>>();

  /** Whether work for `key` is running or waiting now (a new call would wait for it). */
  busy(key: K): boolean {
    return this.#tails.has(key);
  }

  /** Settles once no key has work running or waiting (work added meanwhile is waited for too). */
  async settled(): Promise<void> {
    while (this.#tails.size > 0) await Promise.allSettled(this.#tails.values());
  }

  /** Runs `fn` after every earlier call for `key` has settled. */
  run<T>(key: K, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const run = previous.catch(() => {}).then(fn);
    this.#tails.set(key, run);
    run.finally(() => {
      if (this.#tails.get(key) === run) this.#tails.delete(key);
    }).catch(() => {});
    return run;
  }
}
