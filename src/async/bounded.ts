/**
 * Work over many items a few at a time, where one item's work may hang (a
 * sandbox runtime that never answers a stop): it holds its place for
 * `patienceMs` at most, then the next item starts without it.
 *
 * @module
 */

/** How {@link eachBounded} runs. */
export interface EachBoundedOptions<T> {
  /** Items in progress at once (at least 1). */
  limit: number;
  /** How long one item may hold its place (default: as long as it takes). */
  patienceMs?: number;
  /** Told when an item's work outlasts `patienceMs`; it runs on unwatched. Must not throw. */
  onOverdue?: (item: T) => void;
}

/**
 * Runs `work` for each item, at most `limit` at a time, and resolves once
 * every item has settled or been given up on (see {@link EachBoundedOptions}).
 * `work` handles its own errors: a rejection only frees its place.
 *
 * @example
 * ```ts
 * import { eachBounded } from "./bounded.ts";
 *
 * const stopped: number[] = [];
 * await eachBounded([1, 2, 3, 4], async (n) => void stopped.push(n), { limit: 2, patienceMs: 30_000 });
 * console.assert(stopped.length === 4);
 * ```
 */
export async function eachBounded<T>(
  items: Iterable<T>,
  work: (item: T) => Promise<void>,
  options: EachBoundedOptions<T>,
): Promise<void> {
  const queue = [...items];
  const worker = async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
      if (!await settledWithin(work(item), options.patienceMs)) options.onOverdue?.(item);
    }
  };
  const workers = Math.max(1, Math.min(options.limit, queue.length));
  await Promise.all(Array.from({ length: workers }, worker));
}

/**
 * Waits for `promise` to settle (fulfilled or rejected), or `patienceMs`,
 * whichever comes first; true when it settled in time. Without `patienceMs`
 * it waits for the settling.
 *
 * @example
 * ```ts
 * import { settledWithin } from "./bounded.ts";
 * const hung = new Promise<void>(() => {});
 * console.assert(await settledWithin(Promise.resolve(), 10));
 * console.assert(!await settledWithin(hung, 10));
 * ```
 */
export async function settledWithin(promise: Promise<unknown>, patienceMs?: number): Promise<boolean> {
  const settled = promise.then(() => true, () => true);
  if (patienceMs === undefined) return await settled;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), patienceMs));
  try {
    return await Promise.race([settled, late]);
  } finally {
    clearTimeout(timer);
  }
}
