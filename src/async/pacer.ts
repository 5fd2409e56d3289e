/**
 * A pacer runs one background pass at a time: at once when kicked, at a
 * deadline the owner names (the next due task), or after a fallback
 * interval when nothing else happens. Kicks during a pass fold into one
 * more pass after it, so no signal is lost and passes never overlap.
 *
 * @module
 */

/** What a pacer drives. */
export interface PacerOptions {
  /** One pass. A throw is reported to `onError` and the pacer keeps going. */
  run: () => Promise<void>;
  /** Longest wait between passes when nothing kicks (the polling fallback). */
  fallbackMs: number;
  /** Epoch milliseconds of the next pass the owner wants, if sooner than the fallback. */
  nextDeadline?: () => number | undefined;
  onError: (err: unknown) => void;
}

/** Longest single timer Deno accepts. */
const MAX_TIMER_MS = 2_147_483_647;

/** Single-flight pass runner with kick, deadline and fallback triggers. */
export class Pacer {
  #o: PacerOptions;
  #kicked = false;
  #wakeUp: (() => void) | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #loop: Promise<void> | undefined;
  #stopping = false;
  #running: Promise<void> | undefined;

  constructor(options: PacerOptions) {
    this.#o = options;
  }

  /** Starts the background loop (the first pass runs at once). */
  start(): void {
    if (this.#loop) return;
    this.#stopping = false;
    this.#kicked = true;
    this.#loop = this.#run();
  }

  /** Asks for a pass as soon as possible. */
  kick(): void {
    this.#kicked = true;
    this.#wakeUp?.();
  }

  /**
   * Runs one pass now and resolves when it is done. While the loop runs, this
   * waits for the loop's current pass and then runs another (still one at a time).
   */
  async runOnce(): Promise<void> {
    while (this.#running) await this.#running.catch(() => {});
    const pass = this.#o.run();
    this.#running = pass.finally(() => {
      this.#running = undefined;
    });
    await pass;
  }

  /** Stops the loop after the pass in progress. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wakeUp?.();
    await this.#loop;
    this.#loop = undefined;
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      if (this.#kicked) {
        this.#kicked = false;
        try {
          await this.runOnce();
        } catch (err) {
          this.#o.onError(err);
        }
        continue;
      }
      await this.#sleep();
      this.#kicked ||= !this.#stopping;
    }
  }

  #sleep(): Promise<void> {
    const deadline = this.#o.nextDeadline?.();
    const wait = deadline === undefined
      ? this.#o.fallbackMs
      : Math.max(0, Math.min(this.#o.fallbackMs, deadline - Date.now()));
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(this.#timer);
        this.#timer = undefined;
        this.#wakeUp = undefined;
        resolve();
      };
      this.#wakeUp = done;
      this.#timer = setTimeout(done, Math.min(wait, MAX_TIMER_MS));
    });
  }
}
