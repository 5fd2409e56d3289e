/**
 * The heartbeat file: the current time, rewritten on every poll and during
 * long model calls. The host reads its age to find stuck agents.
 *
 * @module
 */
import type { Logger } from "../log.ts";

/** Writes `path`; a failure is logged once per run of failures and never stops the agent. */
export class Heartbeat {
  #failing = false;

  constructor(readonly path: string, readonly log: Logger) {}

  /** Records that the agent is alive now. */
  beat(): void {
    try {
      Deno.writeTextFileSync(this.path, new Date().toISOString());
      this.#succeeded();
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
    return Deno.writeTextFile(this.path, new Date().toISOString()).then(
      () => this.#succeeded(),
      (err) => this.#failed(err),
    );
  }

  #succeeded(): void {
    this.#failing = false;
  }

  #failed(err: unknown): void {
    if (!this.#failing) {
      this.log.warn("heartbeat.failed", { error: err instanceof Error ? err.name : "unknown" });
    }
    this.#failing = true;
  }
}
