/**
 * The sweep: a slow pass over running sessions that kills stuck sandboxes
 * and clears the backoff of healthy ones, then retries wakes deferred by the
 * backoff.
 *
 * Stuck means: no heartbeat for 30 minutes (the ceiling), or a claim open
 * for over a minute while the heartbeat is also over a minute old (the
 * agent took work and stopped). Unknown ages never condemn a sandbox.
 *
 * @module
 */
import type { SessionId } from "../../contract/ids.ts";
import { logger } from "../log/mod.ts";
import type { Registry } from "../registry/mod.ts";
import { Pacer } from "../async/mod.ts";
import type { GuardedWaker, RespawnBackoff, SandboxControl } from "../wake/mod.ts";
import type { ProbeResult, SessionProbe } from "./probe.ts";

/** Thresholds (milliseconds). */
export const STUCK_LIMITS = {
  heartbeatCeilingMs: 1_800_000,
  claimMs: 60_000,
  heartbeatStaleMs: 60_000,
} as const;

/** What to do with a session after its probe. */
export type StuckAction = "none" | "kill-ceiling" | "kill-claim";

/** The stuck rule (negative ages are unknown and never condemn). */
export function decideStuckAction({ heartbeatAgeMs, claimAgeMs }: ProbeResult): StuckAction {
  if (heartbeatAgeMs > STUCK_LIMITS.heartbeatCeilingMs) return "kill-ceiling";
  if (claimAgeMs > STUCK_LIMITS.claimMs && heartbeatAgeMs > STUCK_LIMITS.heartbeatStaleMs) {
    return "kill-claim";
  }
  return "none";
}

/** What the sweep is built from. */
export interface SweepDeps {
  registry: Registry;
  control: Pick<SandboxControl, "isRunning">;
  probe: SessionProbe;
  backoff: RespawnBackoff;
  waker: GuardedWaker;
  /** Interval of the background loop (default 60 s). */
  intervalMs?: number;
}

/** What one sweep did. */
export interface SweepReport {
  probed: { sessionId: SessionId; probe: ProbeResult; action: StuckAction }[];
  killed: SessionId[];
  healthy: SessionId[];
  rewoken: SessionId[];
  errors: { sessionId: SessionId; error: string }[];
}

/** Stuck detection and deferred wakes, on a slow timer. */
export class Sweep {
  #d: SweepDeps;
  #log = logger("sweep");
  #pacer: Pacer;

  constructor(deps: SweepDeps) {
    this.#d = deps;
    this.#pacer = new Pacer({
      run: async () => void await this.runOnce(),
      fallbackMs: deps.intervalMs ?? 60_000,
      onError: (err) => this.#log.error("sweep failed: {error}", { error: String(err) }),
    });
  }

  /** Starts the background loop. */
  start(): void {
    this.#pacer.start();
  }

  /** Stops it. */
  stop(): Promise<void> {
    return this.#pacer.stop();
  }

  /** One pass; a failing session is reported and the others proceed. */
  async runOnce(): Promise<SweepReport> {
    const report: SweepReport = { probed: [], killed: [], healthy: [], rewoken: [], errors: [] };
    for (const session of this.#d.registry.listSessions()) {
      try {
        if (!await this.#d.control.isRunning(session.id)) continue;
        const probe = await this.#d.probe.probe(session.id);
        const action = decideStuckAction(probe);
        report.probed.push({ sessionId: session.id, probe, action });
        if (action !== "none") {
          this.#log.warn(
            "killing stuck sandbox of session {sessionId} ({action}, heartbeat {hb} ms, claim {claim} ms)",
            {
              sessionId: session.id,
              action,
              hb: probe.heartbeatAgeMs,
              claim: probe.claimAgeMs,
            },
          );
          await this.#d.waker.kill(session.id, `stuck: ${action}`);
          report.killed.push(session.id);
        } else if (probe.heartbeatAgeMs >= 0 && probe.heartbeatAgeMs <= STUCK_LIMITS.heartbeatStaleMs) {
          this.#d.backoff.success(session.id);
          report.healthy.push(session.id);
        }
      } catch (err) {
        report.errors.push({
          sessionId: session.id,
          error: err instanceof Error ? err.message : String(err),
        });
      }
    }
    report.rewoken = await this.#d.waker.retryDeferred();
    return report;
  }
}
