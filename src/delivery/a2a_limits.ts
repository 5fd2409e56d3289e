/**
 * Limits on agent-to-agent messages: a hop limit, so two agents cannot keep
 * each other busy forever, and a fixed-window rate per sending agent group.
 *
 * @module
 */
import type { SessionId } from "../../contract/ids.ts";

/** Defaults: 5 hops; 120 messages a minute per sending group. */
export const A2A_DEFAULTS = { hopLimit: 5, perMinute: 120 } as const;

/** Limit settings. */
export interface A2aLimitOptions {
  hopLimit?: number;
  perMinute?: number;
  /** Epoch-millisecond clock (tests pin it). */
  now?: () => number;
}

/** Why a send is refused, or undefined when it may go. */
export type A2aVerdict = { ok: true; hop: number } | { ok: false; reason: string };

/** Hop depths per session and send counts per group. In memory: a restart forgets them. */
export class A2aLimits {
  #hops = new Map<SessionId, number>();
  #windows = new Map<string, { start: number; count: number }>();
  #hopLimit: number;
  #perMinute: number;
  #now: () => number;

  constructor(options: A2aLimitOptions = {}) {
    this.#hopLimit = options.hopLimit ?? A2A_DEFAULTS.hopLimit;
    this.#perMinute = options.perMinute ?? A2A_DEFAULTS.perMinute;
    this.#now = options.now ?? Date.now;
  }

  /** The hop depth of a session (0 when it was never reached by another agent). */
  hop(sessionId: SessionId): number {
    return this.#hops.get(sessionId) ?? 0;
  }

  /**
   * Decides one send from `sender` (a session of `senderGroup`), counting it
   * against the group's window when it may go.
   */
  admit(sender: SessionId, senderGroup: string): A2aVerdict {
    const hop = this.hop(sender);
    if (hop >= this.#hopLimit) return { ok: false, reason: `hop limit ${this.#hopLimit} reached` };
    const now = this.#now();
    let window = this.#windows.get(senderGroup);
    if (!window || now - window.start >= 60_000) {
      this.#windows.set(senderGroup, window = { start: now, count: 0 });
    }
    if (window.count >= this.#perMinute) {
      return {
        ok: false,
        reason: `rate limit of ${this.#perMinute} a minute reached for group ${senderGroup}`,
      };
    }
    window.count++;
    return { ok: true, hop };
  }

  /** Records that `target` was reached at `hop` + 1 (keeping the deepest). */
  reached(target: SessionId, senderHop: number): void {
    this.#hops.set(target, Math.max(this.hop(target), senderHop + 1));
  }
}
