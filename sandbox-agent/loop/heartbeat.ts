/**
 * The heartbeat file: the current time, rewritten at polls and during long
 * model calls. The host reads its age to find stuck agents (stale after
 * `STUCK_LIMITS.heartbeatStaleMs`, a minute), so a poll that comes soon after
 * the last write skips it: a busy conversation's turns then cost no file
 * write each under gVisor, and the file is never older than that interval
 * plus one poll.
 *
 * @module
 */
import type { Logger } from "../log.ts";

/** How the heartbeat is written. */
export interface HeartbeatOptions {
  log: Logger;
  /**
   * A poll's beat within this long (ms) of the last successful write is
   * skipped (default 0: every poll writes). The agent passes a second, so
   * an idle agent, polling every few seconds, still writes at every poll.
   */
  minIntervalMs?: number;
}

/** Writes `path`; a failure is logged once per run of failures and never stops the agent. */
export class Heartbeat {
  readonly path: string;
  readonly #log: Logger;
  readonly #minIntervalMs: number;
  #failing = false;
  /** When the last write succeeded (performance.now()), or -Infinity. */
  #lastWrite = -Infinity;

  constructor(path: string, options: HeartbeatOptions) {
    this.path = path;
    this.#log = options.log;
    this.#minIntervalMs = options.minIntervalMs ?? 0;
  }

  /** Records that the agent is alive now. */
  beat(): void {
    try {
      const at = performance.now();
      Deno.writeTextFileSync(this.path, new Date().toISOString());
      this.#succeeded(at);
    } catch (err) {
      this.#failed(err);
    }
  }

  /**
   * Records that the agent is alive now without waiting for the write, which
   * runs beside the caller's work: under gVisor a file write is a few
   * milliseconds of round trips to the gofer, too long to sit in front of
   * every poll. Settles (never rejects) once written; await it before a
   * later {@link beat} so that writes never overlap.
   */
  beatInBackground(): Promise<void> {
    if (performance.now() - this.#lastWrite < this.#minIntervalMs) return Promise.resolve();
    const at = performance.now();
    return Deno.writeTextFile(this.path, new Date().toISOString()).then(
      () => this.#succeeded(at),
      (err) => this.#failed(err),
    );
  }

  #succeeded(at: number): void {
    this.#failing = false;
    this.#lastWrite = at;
  }

  #failed(err: unknown): void {
    if (!this.#failing) {
      this.#log.warn("heartbeat.failed", { error: err instanceof Error ? err.name : "unknown" });
    }
    this.#failing = true;
  }
}
