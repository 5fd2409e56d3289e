/**
 * Respawn backoff: after each failure of a session's sandbox (a launch that
 * failed, a sandbox found dead, a kill for being stuck) the next launch
 * waits longer, doubling from 1 s up to 5 min; after 5 failures in a row the
 * session is parked and not launched again until an operator unparks it.
 * A healthy heartbeat clears the count.
 *
 * Parking is durable through a {@link ParkingLot} (the registry's container
 * status `parked`), so a restart does not quietly relaunch a crash loop.
 *
 * @module
 */
import type { SessionId } from "../../contract/ids.ts";

/** Backoff settings (defaults: 1 s, 5 min, 5 failures). */
export interface BackoffOptions {
  baseMs?: number;
  maxMs?: number;
  parkAfter?: number;
  /** Epoch-millisecond clock (tests pin it). */
  now?: () => number;
  /** Where parked sessions are recorded; without one parking lasts until a restart. */
  parking?: ParkingLot;
  /** Called once when a session is parked (the escalation: a human must look). */
  onPark?: (sessionId: SessionId, reason: string) => void;
}

/** Durable record of parked sessions. */
export interface ParkingLot {
  park(sessionId: SessionId): void;
  unpark(sessionId: SessionId): void;
  parked(): SessionId[];
}

/** May the session be launched now? */
export type LaunchGate =
  | { allowed: true }
  | { allowed: false; parked: false; waitMs: number }
  | { allowed: false; parked: true };

/** A parked session, as an operator sees it. */
export interface ParkedSession {
  sessionId: SessionId;
  failures: number;
  /** The last failure's description ("" when parked before this process started). */
  reason: string;
}

interface Entry {
  failures: number;
  retryAt: number;
  parked: boolean;
  reason: string;
}

/** Failure counts, retry times and parking per session. */
export class RespawnBackoff {
  #entries = new Map<SessionId, Entry>();
  #baseMs: number;
  #maxMs: number;
  #parkAfter: number;
  #now: () => number;
  #o: BackoffOptions;

  constructor(options: BackoffOptions = {}) {
    this.#o = options;
    this.#baseMs = options.baseMs ?? 1000;
    this.#maxMs = options.maxMs ?? 300_000;
    this.#parkAfter = options.parkAfter ?? 5;
    this.#now = options.now ?? Date.now;
    for (const sessionId of options.parking?.parked() ?? []) {
      this.#entries.set(sessionId, {
        failures: this.#parkAfter,
        retryAt: Infinity,
        parked: true,
        reason: "",
      });
    }
  }

  /** Whether a launch may happen now. */
  allow(sessionId: SessionId): LaunchGate {
    const entry = this.#entries.get(sessionId);
    if (entry?.parked) return { allowed: false, parked: true };
    if (!entry || entry.failures === 0) return { allowed: true };
    const waitMs = entry.retryAt - this.#now();
    return waitMs > 0 ? { allowed: false, parked: false, waitMs } : { allowed: true };
  }

  /** Records a failure; returns the gate that now applies. Parks (once) at the limit. */
  failure(sessionId: SessionId, reason: string): LaunchGate {
    const entry = this.#entries.get(sessionId) ?? { failures: 0, retryAt: 0, parked: false, reason: "" };
    entry.failures++;
    entry.reason = reason;
    this.#entries.set(sessionId, entry);
    if (entry.failures >= this.#parkAfter) return this.#park(sessionId, entry);

    const delay = Math.min(this.#maxMs, this.#baseMs * 2 ** (entry.failures - 1));
    entry.retryAt = this.#now() + delay;
    return { allowed: false, parked: false, waitMs: delay };
  }

  /**
   * Parks a session at once, whatever its failure count: a fault no relaunch
   * can cure (a damaged queue file) needs the operator, not another try.
   */
  park(sessionId: SessionId, reason: string): LaunchGate {
    const entry = this.#entries.get(sessionId) ?? { failures: 0, retryAt: 0, parked: false, reason: "" };
    entry.reason = reason;
    this.#entries.set(sessionId, entry);
    return this.#park(sessionId, entry);
  }

  #park(sessionId: SessionId, entry: Entry): LaunchGate {
    if (!entry.parked) {
      entry.parked = true;
      entry.retryAt = Infinity;
      this.#o.parking?.park(sessionId);
      this.#o.onPark?.(sessionId, entry.reason);
    }
    return { allowed: false, parked: true };
  }

  /** Clears the count after a sign of health. A parked session stays parked (only an operator unparks). */
  success(sessionId: SessionId): void {
    const entry = this.#entries.get(sessionId);
    if (entry && !entry.parked) this.#entries.delete(sessionId);
  }

  /** An operator's release of a parked session: its count starts again from zero. */
  unpark(sessionId: SessionId): boolean {
    const entry = this.#entries.get(sessionId);
    if (!entry?.parked) return false;
    this.#entries.delete(sessionId);
    this.#o.parking?.unpark(sessionId);
    return true;
  }

  /** Consecutive failures of a session. */
  failures(sessionId: SessionId): number {
    return this.#entries.get(sessionId)?.failures ?? 0;
  }

  /** Every parked session. */
  parked(): ParkedSession[] {
    return [...this.#entries].filter(([, e]) => e.parked)
      .map(([sessionId, e]) => ({ sessionId, failures: e.failures, reason: e.reason }))
      .sort((a, b) => a.sessionId < b.sessionId ? -1 : 1);
  }
}
