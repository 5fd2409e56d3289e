/**
 * A memo of lookups whose answers change only at known moments (the caller
 * clears it then), bounded by forgetting everything when full: a miss only
 * costs the lookup again.
 *
 * @module
 */

/** Remembers at most `max` answers, keyed; when full it forgets them all before remembering the next. */
export class BoundedMemo<K, V> {
  readonly #entries = new Map<K, V>();

  constructor(readonly max: number) {}

  /**
   * The answer remembered for `key`, else `lookup(key)`'s, remembered.
   *
   * @example
   * ```ts
   * import { BoundedMemo } from "./bounded_memo.ts";
   * const memo = new BoundedMemo<string, number>(2);
   * let lookups = 0;
   * const length = (s: string) => (lookups++, s.length);
   * memo.get("abc", length);
   * memo.get("abc", length);
   * console.assert(lookups === 1);
   * ```
   */
  get(key: K, lookup: (key: K) => V): V {
    if (this.#entries.has(key)) return this.#entries.get(key)!;
    const value = lookup(key);
    if (this.#entries.size >= this.max) this.#entries.clear();
    this.#entries.set(key, value);
    return value;
  }

  /** Forgets every answer (what they were read from changed). */
  clear(): void {
    this.#entries.clear();
  }

  /** How many answers are remembered now. */
  get size(): number {
    return this.#entries.size;
  }
}
