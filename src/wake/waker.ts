/**
 * The session waker with the respawn backoff enforced: a running sandbox is
 * just rung; a stopped one is launched only when its backoff allows it. A
 * session in backoff is woken later by itself (its wake is deferred, not
 * lost); a parked one is refused with {@link SessionParkedError} until an
 * operator unparks it. A sandbox this waker launched that is found dead
 * without having been stopped counts as a failure (a crash), as do failed
 * launches and kills for being stuck.
 *
 * @module
 */
import type { SessionId } from "../../contract/ids.ts";
import { logger } from "../log/mod.ts";
import type { Counter, MetricsRegistry } from "../metrics/mod.ts";
import type { ContainerStatus, Registry } from "../registry/mod.ts";
import { KeyedLock } from "../async/mod.ts";
import type { SessionWaker } from "../session/mod.ts";
import type { LaunchGate, ParkedSession, RespawnBackoff } from "./backoff.ts";

/** What the waker drives: the session manager's sandbox operations (isolator + doorbell). */
export interface SandboxControl {
  /**
   * Whether the session's sandbox is running now. `probe: false` (the wake's
   * hot path) trusts the supervised child's exit state instead of asking the
   * runtime (`runsc state` is a process spawn, ~100 ms under load); the
   * sweep's liveness probe keeps the default, a real probe.
   */
  isRunning(sessionId: SessionId, opts?: { probe?: boolean }): Promise<boolean>;
  /** Starts the session's sandbox; resolves once it is launched. */
  launch(sessionId: SessionId): Promise<void>;
  /** Rings the session's doorbell (an inbound row is waiting). Must not throw. */
  ring(sessionId: SessionId): void;
  /** Stops the session's sandbox (idempotent). */
  stop(sessionId: SessionId): Promise<void>;
}

/** The session is parked: it is not launched until an operator unparks it. */
export class SessionParkedError extends Error {
  override name = "SessionParkedError";
  constructor(readonly sessionId: SessionId) {
    super(`session ${sessionId} is parked after repeated sandbox failures; an operator must unpark it`);
  }
}

/** What the waker is built from. */
export interface GuardedWakerDeps {
  control: SandboxControl;
  backoff: RespawnBackoff;
  /** Where container statuses are recorded (optional: the control may record them itself). */
  registry?: Registry;
  metrics?: MetricsRegistry;
  /** Told when a launch fails (after the backoff counted it); must not throw. */
  onLaunchFailure?: (sessionId: SessionId, error: unknown) => void;
  /** Retry deferred wakes on a timer (default true; tests call {@link GuardedWaker.retryDeferred}). */
  autoRetry?: boolean;
  /** Epoch-millisecond clock (tests pin it). */
  now?: () => number;
}

/** A {@link SessionWaker} that honours the respawn backoff. */
export class GuardedWaker implements SessionWaker {
  #d: GuardedWakerDeps;
  #log = logger("waker");
  #launched = new Set<SessionId>();
  #deferred = new Map<SessionId, { at: number; timer?: ReturnType<typeof setTimeout> }>();
  #locks = new KeyedLock<SessionId>();
  #now: () => number;
  #launches?: Counter;
  #kills?: Counter;

  constructor(deps: GuardedWakerDeps) {
    this.#d = deps;
    this.#now = deps.now ?? Date.now;
    this.#launches = deps.metrics?.counter("ironclaw_sandbox_launches_total", "Sandbox launches.");
    this.#kills = deps.metrics?.counter("ironclaw_sandbox_kills_total", "Sandboxes killed by the sweep.");
  }

  /** Rings a running sandbox, or launches one when the backoff allows; throws {@link SessionParkedError} when parked. */
  wake(sessionId: SessionId): Promise<void> {
    return this.#serial(sessionId, () => this.#wake(sessionId));
  }

  /**
   * Wakes without waiting for a sandbox start (see {@link SessionWaker.wakeSoon}).
   * A start that fails after this resolved is counted and told as any
   * (`onLaunchFailure`), and logged here.
   */
  wakeSoon(sessionId: SessionId): Promise<void> {
    const underWay = Promise.withResolvers<void>();
    let answered = false;
    const answer = () => {
      answered = true;
      underWay.resolve();
    };
    // Behind a stop or a start of this session (seconds under load): the queued wake follows it.
    if (this.#locks.busy(sessionId)) answer();
    this.#serial(sessionId, () => this.#wake(sessionId, answer)).then(answer, (err) => {
      if (!answered) return underWay.reject(err);
      this.#log.warn("session {sessionId} did not wake: {error}", {
        sessionId,
        error: err instanceof Error ? err.message : String(err),
      });
    });
    return underWay.promise;
  }

  /**
   * Settles once no wake, start or stop is under way for any session: a
   * send answers before its sandbox starts ({@link wakeSoon}), so whoever
   * reads the sessions' state as of its sends waits for this first.
   */
  settled(): Promise<void> {
    return this.#locks.settled();
  }

  /** Stops a sandbox on purpose (idle, shutdown, respawn after a change): not a failure. */
  stop(sessionId: SessionId): Promise<void> {
    return this.#serial(sessionId, async () => {
      this.#launched.delete(sessionId);
      await this.#d.control.stop(sessionId);
      this.#status(sessionId, "stopped");
    });
  }

  /** Kills a sandbox found stuck: a failure for its backoff; a later wake relaunches it when allowed. */
  kill(sessionId: SessionId, reason: string): Promise<LaunchGate> {
    return this.#serial(sessionId, async () => {
      this.#launched.delete(sessionId);
      await this.#d.control.stop(sessionId);
      this.#kills?.inc();
      this.#status(sessionId, "stopped");
      const gate = this.#d.backoff.failure(sessionId, reason);
      if (!gate.allowed && !gate.parked) this.#defer(sessionId, gate.waitMs);
      return gate;
    });
  }

  /** Wakes every deferred session whose wait is over; returns those woken. */
  async retryDeferred(): Promise<SessionId[]> {
    const due = [...this.#deferred].filter(([, d]) => d.at <= this.#now()).map(([id]) => id);
    const woken: SessionId[] = [];
    for (const sessionId of due) {
      this.#clearDeferred(sessionId);
      try {
        await this.wake(sessionId);
        woken.push(sessionId);
      } catch (err) {
        this.#log.warn("deferred wake of session {sessionId} failed: {error}", {
          sessionId,
          error: String(err),
        });
      }
    }
    return woken;
  }

  /** Sessions whose wake waits for their backoff, with when (epoch ms). */
  deferred(): { sessionId: SessionId; at: number }[] {
    return [...this.#deferred].map(([sessionId, d]) => ({ sessionId, at: d.at }));
  }

  /** Parked sessions (operator view). */
  parked(): ParkedSession[] {
    return this.#d.backoff.parked();
  }

  /** An operator's release of a parked session; it is woken at once (its queued messages wait). */
  async unpark(sessionId: SessionId): Promise<boolean> {
    if (!this.#d.backoff.unpark(sessionId)) return false;
    this.#log.info("session {sessionId} unparked", { sessionId });
    await this.wake(sessionId);
    return true;
  }

  /** Drops pending retry timers. */
  close(): void {
    for (const sessionId of [...this.#deferred.keys()]) this.#clearDeferred(sessionId);
  }

  /** The wake; `starting` is told just before a sandbox start (the rest is the start's). */
  async #wake(sessionId: SessionId, starting?: () => void): Promise<void> {
    const { control, backoff } = this.#d;
    // The sweep probes the runtime for a sandbox that died under a live supervisor; a wake need not.
    if (await control.isRunning(sessionId, { probe: false })) {
      control.ring(sessionId);
      return;
    }
    if (this.#launched.delete(sessionId)) {
      this.#log.warn("the sandbox of session {sessionId} exited on its own", { sessionId });
      backoff.failure(sessionId, "sandbox exited on its own");
    }
    const gate = backoff.allow(sessionId);
    if (!gate.allowed) {
      if (gate.parked) throw new SessionParkedError(sessionId);
      this.#defer(sessionId, gate.waitMs);
      return;
    }
    this.#clearDeferred(sessionId);
    this.#status(sessionId, "starting");
    starting?.();
    try {
      await control.launch(sessionId);
    } catch (err) {
      this.#status(sessionId, "failed");
      const after = backoff.failure(
        sessionId,
        `launch failed: ${err instanceof Error ? err.message : String(err)}`,
      );
      if (!after.allowed && !after.parked) this.#defer(sessionId, after.waitMs);
      this.#d.onLaunchFailure?.(sessionId, err);
      throw err;
    }
    this.#launches?.inc();
    this.#launched.add(sessionId);
    this.#status(sessionId, "running");
    control.ring(sessionId);
  }

  #defer(sessionId: SessionId, waitMs: number): void {
    const at = this.#now() + waitMs;
    const existing = this.#deferred.get(sessionId);
    if (existing && existing.at <= at) return;
    if (existing?.timer !== undefined) clearTimeout(existing.timer);
    const entry: { at: number; timer?: ReturnType<typeof setTimeout> } = { at };
    if (this.#d.autoRetry ?? true) {
      entry.timer = setTimeout(() => void this.retryDeferred(), Math.max(0, waitMs));
      Deno.unrefTimer(entry.timer);
    }
    this.#deferred.set(sessionId, entry);
  }

  #clearDeferred(sessionId: SessionId): void {
    const entry = this.#deferred.get(sessionId);
    if (entry?.timer !== undefined) clearTimeout(entry.timer);
    this.#deferred.delete(sessionId);
  }

  #status(sessionId: SessionId, status: ContainerStatus): void {
    if (!this.#d.registry) return;
    // Parking is the backoff's to set and an operator's to clear.
    if (this.#d.registry.getSession(sessionId).containerStatus === "parked") return;
    this.#d.registry.setContainerStatus(sessionId, status);
  }

  #serial<T>(sessionId: SessionId, fn: () => Promise<T>): Promise<T> {
    return this.#locks.run(sessionId, fn);
  }
}
