/**
 * How many sandboxes may be starting at once.
 *
 * A start is CPU work (runsc's boot, Deno's runtime, the agent's module
 * load), and under gVisor's ptrace platform starts that run side by side cost
 * more CPU each than starts one after the other: fifty launched together on
 * two cores took 4.7 CPU-s a sandbox to reach idle against 2.5 s when they
 * came a few at a time, and the last reply came twice as late. So a start
 * beyond the limit waits for a slot, and a slot is given back as soon as the
 * start is over.
 *
 * @module
 */

/** A counting semaphore for starts, first come first served. */
export class StartSlots {
  #free: number;
  #waiting: (() => void)[] = [];

  /** `size` starts at once (at least one; `Infinity` for no limit). */
  constructor(readonly size: number) {
    this.#free = Math.max(1, size);
  }

  /** Starts waiting for a slot now. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Waits for a slot; the function returned gives it back (calling it again does nothing). */
  async acquire(): Promise<() => void> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    };
  }
}
