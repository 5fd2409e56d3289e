/**
 * The cap on live sandboxes (`serve --max-sandboxes`): each costs ~90–140 MiB,
 * and a session is made per chat, so without one a flood of chats exhausts
 * the host. Before a sandbox starts at the cap, the least recently used idle
 * one is stopped. Stopping loses nothing: its queued messages stay in its
 * queue, and the next message wakes it again. When every live sandbox is busy
 * the new one starts anyway, over the cap, and the next start brings the count
 * back down: a turn in progress is never cut off.
 *
 * @module
 */
import type { SessionId } from "../../contract/ids.ts";

/** 256 MiB: what the default cap counts per sandbox (its memory limit's half, with the host's share). */
const BYTES_PER_SANDBOX = 256 * 1024 * 1024;

/** The default cap: half of the host's memory at 256 MiB a sandbox, at least 2. */
export function defaultMaxSandboxes(totalMemoryBytes = Deno.systemMemoryInfo().total): number {
  return Math.max(2, Math.floor(totalMemoryBytes / 2 / BYTES_PER_SANDBOX));
}

/** What {@link SandboxCap.admit} asks of the sandboxes. */
export interface AdmitOptions {
  /** The sessions with a live sandbox. */
  live(): SessionId[];
  /** Whether a session has work in progress or waiting (never stopped for room). */
  busy(sessionId: SessionId): Promise<boolean>;
  /** Stops a session's sandbox (deliberately: not a crash). */
  evict(sessionId: SessionId): Promise<void>;
}

/** Least-recently-used admission of sandboxes under a cap. */
export class SandboxCap {
  readonly max: number;
  #lastUsed = new Map<SessionId, number>();
  /** Wall-clock time of each session's last use, for idle hibernation (`idleMs`). */
  #lastUsedAt = new Map<SessionId, number>();
  #clock = 0;
  /** Sessions admitted whose sandbox is still starting: they count against the cap. */
  #starting = new Set<SessionId>();
  #queue: Promise<unknown> = Promise.resolve();

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`the sandbox cap must be 1 or more, got ${max}`);
    }
    this.max = max;
  }

  /** Marks `sessionId` as used now (a launch, a message to it, a reply from it). */
  touch(sessionId: SessionId): void {
    this.#lastUsed.set(sessionId, ++this.#clock);
    this.#lastUsedAt.set(sessionId, Date.now());
  }

  /** Milliseconds since `sessionId` was last used (undefined when it has no live sandbox here). */
  idleMs(sessionId: SessionId, now: number = Date.now()): number | undefined {
    const at = this.#lastUsedAt.get(sessionId);
    return at === undefined ? undefined : now - at;
  }

  /** Forgets a session whose sandbox is gone. */
  forget(sessionId: SessionId): void {
    this.#lastUsed.delete(sessionId);
    this.#lastUsedAt.delete(sessionId);
  }

  /**
   * Makes room for `sessionId`'s sandbox: while the live and starting ones
   * (others than it) are at the cap, stops the least recently used idle one.
   * Admissions run one at a time; the admitted session counts as starting
   * until {@link started}. Returns the sessions stopped.
   */
  admit(sessionId: SessionId, options: AdmitOptions): Promise<SessionId[]> {
    const turn = this.#queue.then(() => this.#admit(sessionId, options));
    this.#queue = turn.catch(() => {});
    return turn;
  }

  /** The admitted start of `sessionId` is over (up, or failed). */
  started(sessionId: SessionId): void {
    this.#starting.delete(sessionId);
  }

  async #admit(sessionId: SessionId, options: AdmitOptions): Promise<SessionId[]> {
    const evicted: SessionId[] = [];
    const live = options.live().filter((id) => id !== sessionId && !this.#starting.has(id));
    const count = () =>
      live.length - evicted.length + [...this.#starting].filter((id) => id !== sessionId).length;
    const byAge = live.sort((a, b) => (this.#lastUsed.get(a) ?? 0) - (this.#lastUsed.get(b) ?? 0));
    for (const candidate of byAge) {
      if (count() < this.max) break;
      if (await options.busy(candidate)) continue;
      await options.evict(candidate);
      this.forget(candidate);
      evicted.push(candidate);
    }
    this.#starting.add(sessionId);
    this.touch(sessionId);
    return evicted;
  }
}
