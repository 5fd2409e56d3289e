/**
 * The host's async building blocks: {@link KeyedLock} serialises work per key
 * (a session), {@link Pacer} runs one background pass at a time (kicked,
 * at a deadline, or on a fallback interval), and {@link eachBounded} works
 * through many items a few at a time, a hung one holding its place for a
 * bounded wait only ({@link settledWithin}: waits for a promise, or a
 * deadline, whichever is first). Delivery, the scheduler, the sweep, the waker and the
 * sandbox manager are built on them.
 *
 * ```ts
 * const lock = new KeyedLock<string>();
 * const order: number[] = [];
 * await Promise.all([
 *   lock.run("s1", async () => void order.push(1)),
 *   lock.run("s1", async () => void order.push(2)),
 * ]);
 * console.assert(order.join() === "1,2");
 *
 * const pacer = new Pacer({ run: () => Promise.resolve(), fallbackMs: 60_000, onError: console.error });
 * pacer.start();
 * pacer.kick();
 * await pacer.stop();
 * ```
 *
 * @module
 */
export { eachBounded, settledWithin } from "./bounded.ts";
export type { EachBoundedOptions } from "./bounded.ts";
export { KeyedLock } from "./keyed_lock.ts";
export { Pacer } from "./pacer.ts";
export type { PacerOptions } from "./pacer.ts";
