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
      this.#failing = false;
    } catch (err) {
      if (!this.#failing) {
        this.log.warn("heartbeat.failed", { error: err instanceof Error ? err.name : "unknown" });
      }
      this.#failing = true;
    }
  }
}
