/**
 * The sweep: a slow pass over running sessions that kills stuck sandboxes
 * and clears the backoff of healthy ones, then retries wakes deferred by the
 * backoff.
 *
 * Stuck means: no heartbeat for 30 minutes (the ceiling), or a claim open
 * for over a minute while the heartbeat is also over a minute old (the
 * agent took work and stopped). Unknown ages never condemn a sandbox.
 *
 * Idle hibernation (`serve --idle-stop`): a healthy sandbox unused for the
 * idle limit, with no message or due task waiting or in progress, is stopped
 * through the waker (a deliberate stop, not a crash). Its queues and state are
 * durable, so the next message wakes it again; meanwhile it holds no memory.
 *
 * Sessions are swept a few at a time ({@link SWEEP_PARALLEL}): a stop is
 * runtime calls of seconds under load, and a stop that hangs holds its place
 * for {@link SWEEP_PATIENCE_MS} at most.
 *
 * @module
 */
import type { SessionId } from "../../contract/ids.ts";
import { logger } from "../log/mod.ts";
import type { Registry } from "../registry/mod.ts";
import { eachBounded, Pacer } from "../async/mod.ts";
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

/** Idle hibernation: when a live sandbox counts as idle long enough to stop. */
export interface IdleStop {
  /** Stop a sandbox unused for this long (milliseconds, more than 0). */
  afterMs: number;
  /** Milliseconds since the session's sandbox was last used (undefined: unknown, never stopped). */
  idleMs(sessionId: SessionId): number | undefined;
  /** Whether the session has work waiting or in progress (a busy sandbox is never stopped). */
  busy(sessionId: SessionId): Promise<boolean>;
}

/** The default idle limit of `serve --idle-stop`: 10 minutes. */
export const DEFAULT_IDLE_STOP_MS = 10 * 60_000;

/** Sessions swept at once: their runtime calls (`runsc state`, kill, delete) overlap, on a few processes at a time. */
export const SWEEP_PARALLEL = 4;

/** How long one session's sweep (a stop, a relaunch) holds its place before the others go on without it. */
export const SWEEP_PATIENCE_MS = 60_000;

/** What the sweep is built from. */
export interface SweepDeps {
  registry: Registry;
  control: Pick<SandboxControl, "isRunning">;
  probe: SessionProbe;
  backoff: RespawnBackoff;
  waker: GuardedWaker;
  /** Interval of the background loop (default 60 s, or half the idle limit when that is shorter). */
  intervalMs?: number;
  /** Idle hibernation (absent: sandboxes stay up while healthy). */
  idle?: IdleStop;
  /** How long one session may hold its place in a pass (default {@link SWEEP_PATIENCE_MS}). */
  patienceMs?: number;
}

/** What one sweep did. */
export interface SweepReport {
  probed: { sessionId: SessionId; probe: ProbeResult; action: StuckAction }[];
  killed: SessionId[];
  healthy: SessionId[];
  /** Stopped as idle this pass (they wake with their next message). */
  hibernated: SessionId[];
  rewoken: SessionId[];
  errors: { sessionId: SessionId; error: string }[];
}

/** Stuck detection and deferred wakes, on a slow timer. */
export class Sweep {
  #d: SweepDeps;
  #log = logger("sweep");
  #pacer: Pacer;
  /** Sessions this sweep stopped as idle, until their sandbox runs again. */
  #hibernated = new Set<SessionId>();

  constructor(deps: SweepDeps) {
    this.#d = deps;
    this.#pacer = new Pacer({
      run: async () => void await this.runOnce(),
      fallbackMs: deps.intervalMs ?? Math.min(60_000, Math.max(1_000, (deps.idle?.afterMs ?? Infinity) / 2)),
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

  /** Sessions stopped as idle whose sandbox has not run since (what `status` calls hibernated). */
  async hibernated(): Promise<SessionId[]> {
    for (const id of this.#hibernated) {
      if (await this.#d.control.isRunning(id, { probe: false })) this.#hibernated.delete(id);
    }
    return [...this.#hibernated];
  }

  /**
   * One pass over the sessions, {@link SWEEP_PARALLEL} at a time (a stop is
   * a runtime call that takes seconds under load: hundreds idle at once must
   * not take minutes). A failing session is reported and the others proceed;
   * one still at it after the patience is reported and left running on
   * unwatched (its sandbox is `stopping`, so the next pass skips it).
   */
  async runOnce(): Promise<SweepReport> {
    const report: SweepReport = {
      probed: [],
      killed: [],
      healthy: [],
      hibernated: [],
      rewoken: [],
      errors: [],
    };
    const patienceMs = this.#d.patienceMs ?? SWEEP_PATIENCE_MS;
    await eachBounded(
      this.#d.registry.listSessions().map((s) => s.id),
      (sessionId) =>
        this.#sweepOne(sessionId, report).catch((err) =>
          void report.errors.push({ sessionId, error: err instanceof Error ? err.message : String(err) })
        ),
      {
        limit: SWEEP_PARALLEL,
        patienceMs,
        onOverdue: (sessionId) =>
          report.errors.push({
            sessionId,
            error: `not done after ${patienceMs / 1000} s (a stop or start still running)`,
          }),
      },
    );
    report.rewoken = await this.#d.waker.retryDeferred();
    return report;
  }

  /** Probes one session; kills it when stuck, hibernates it when idle long enough. */
  async #sweepOne(sessionId: SessionId, report: SweepReport): Promise<void> {
    if (!await this.#d.control.isRunning(sessionId)) return;
    this.#hibernated.delete(sessionId);
    const probe = await this.#d.probe.probe(sessionId);
    const action = decideStuckAction(probe);
    report.probed.push({ sessionId, probe, action });
    if (action !== "none") {
      this.#log.warn(
        "killing stuck sandbox of session {sessionId} ({action}, heartbeat {hb} ms, claim {claim} ms)",
        { sessionId, action, hb: probe.heartbeatAgeMs, claim: probe.claimAgeMs },
      );
      await this.#d.waker.kill(sessionId, `stuck: ${action}`);
      report.killed.push(sessionId);
      return;
    }
    if (probe.heartbeatAgeMs < 0 || probe.heartbeatAgeMs > STUCK_LIMITS.heartbeatStaleMs) return;
    this.#d.backoff.success(sessionId);
    report.healthy.push(sessionId);
    if (!await this.#idleLongEnough(sessionId)) return;
    await this.#d.waker.stop(sessionId);
    // A message that arrived while it stopped must not wait for the next one: wake it again.
    if (await this.#d.idle!.busy(sessionId)) return void await this.#d.waker.wake(sessionId);
    this.#hibernated.add(sessionId);
    report.hibernated.push(sessionId);
    this.#log.info(
      "session {sessionId} idle for {minutes} min: its sandbox is stopped until the next message",
      {
        sessionId,
        minutes: Math.round(this.#d.idle!.afterMs / 60_000),
      },
    );
  }

  async #idleLongEnough(sessionId: SessionId): Promise<boolean> {
    const idle = this.#d.idle;
    if (!idle) return false;
    const ms = idle.idleMs(sessionId);
    return ms !== undefined && ms >= idle.afterMs && !await idle.busy(sessionId);
  }
}
