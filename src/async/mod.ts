/**
 * The host's async building blocks: {@link KeyedLock} serialises work per key
 * (a session), and {@link Pacer} runs one background pass at a time (kicked,
 * at a deadline, or on a fallback interval). Delivery, the scheduler, the
 * sweep, the waker and the sandbox manager are built on them.
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
export { KeyedLock } from "./keyed_lock.ts";
export { Pacer } from "./pacer.ts";
export type { PacerOptions } from "./pacer.ts";
