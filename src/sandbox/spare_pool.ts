/**
 * How many warm spares each agent group keeps, and when they are booted,
 * taken and let go. A group with traffic in the last {@link RECENT_TRAFFIC_MS}
 * (a launch of one of its sessions) keeps `perGroup` spares (`serve
 * --warm-spares N`, default 1); the rest keep none. A spare is taken once
 * and never comes back. A spare that fails to boot or dies while it waits is
 * replaced after a delay that doubles with each failure in a row (from
 * {@link SPARE_RETRY_BASE_MS} up to {@link SPARE_RETRY_CAP_MS}), so a spare
 * that cannot start never becomes a loop; a claim that works resets it.
 *
 * @module
 */

/** What the pool needs of a spare. */
export interface PooledSpare {
  readonly agentGroupId: string;
  /** The group's launch spec it was booted with: a spare of another spec is never handed out. */
  readonly fingerprint: string;
  /** Settles when its sandbox ends. */
  readonly exited: Promise<unknown>;
}

/** How the pool boots and lets go of spares. */
export interface SparePoolOptions<S extends PooledSpare> {
  /** Spares per group with recent traffic. */
  perGroup: number;
  /** Boots one spare of the group; undefined when the group takes none (see the manager). */
  boot(agentGroupId: string): Promise<S | undefined>;
  /** Stops a spare and removes its directories. Must not throw. */
  discard(spare: S): Promise<void>;
  /** Whether one more sandbox fits under the cap. */
  room(): boolean;
  /** The group's current fingerprint, or undefined when the group is gone. */
  fingerprint(agentGroupId: string): string | undefined;
  /** Told of a boot failure or a spare that died waiting. Must not throw. */
  onFailure?(agentGroupId: string, error: string, retryInMs: number): void;
  /** Test seams. */
  now?: () => number;
  retryBaseMs?: number;
}

/** How long a group counts as having traffic after its last launch. */
export const RECENT_TRAFFIC_MS = 60 * 60_000;
/** The first retry delay after a spare failed. */
export const SPARE_RETRY_BASE_MS = 2_000;
/** The longest retry delay. */
export const SPARE_RETRY_CAP_MS = 5 * 60_000;

/** The warm spares of every agent group. */
export class SparePool<S extends PooledSpare> {
  #o: SparePoolOptions<S>;
  #ready = new Map<string, S[]>();
  #booting = new Map<string, number>();
  #traffic = new Map<string, number>();
  #failures = new Map<string, number>();
  #retry = new Map<string, ReturnType<typeof setTimeout>>();
  #tidy: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(options: SparePoolOptions<S>) {
    this.#o = options;
  }

  /** Spares waiting or booting, in all groups. */
  count(): number {
    let n = 0;
    for (const list of this.#ready.values()) n += list.length;
    for (const booting of this.#booting.values()) n += booting;
    return n;
  }

  /** Spares waiting in `agentGroupId`. */
  waiting(agentGroupId: string): number {
    return this.#ready.get(agentGroupId)?.length ?? 0;
  }

  /** A session of `agentGroupId` launched: the group has traffic; its spares are topped up. */
  traffic(agentGroupId: string): void {
    if (this.#closed || this.#o.perGroup === 0) return;
    this.#traffic.set(agentGroupId, this.#now());
    // Groups go quiet without a launch to notice: a slow timer lets their spares go.
    this.#tidy ??= setInterval(() => this.#letGoOfQuietGroups(), RECENT_TRAFFIC_MS / 12);
    this.#topUp(agentGroupId);
  }

  /** Takes a waiting spare of the group booted with `fingerprint` (others of the group are let go). */
  take(agentGroupId: string, fingerprint: string): S | undefined {
    const list = this.#ready.get(agentGroupId) ?? [];
    const stale = list.filter((s) => s.fingerprint !== fingerprint);
    const fresh = list.filter((s) => s.fingerprint === fingerprint);
    const taken = fresh.shift();
    this.#ready.set(agentGroupId, fresh);
    for (const spare of stale) void this.#o.discard(spare);
    return taken;
  }

  /** A taken spare now serves its session: the group's failure count starts again. */
  served(agentGroupId: string): void {
    this.#failures.delete(agentGroupId);
  }

  /** Lets go of every spare of a group (its launch spec changed); new ones boot at its next traffic. */
  async discardGroup(agentGroupId: string): Promise<number> {
    const list = this.#ready.get(agentGroupId) ?? [];
    this.#ready.delete(agentGroupId);
    await Promise.all(list.map((s) => this.#o.discard(s)));
    return list.length;
  }

  /** Lets go of the oldest waiting spare of any group (room for a session); false when there is none. */
  async discardOne(): Promise<boolean> {
    for (const [group, list] of this.#ready) {
      const spare = list.shift();
      if (!spare) continue;
      if (list.length === 0) this.#ready.delete(group);
      await this.#o.discard(spare);
      return true;
    }
    return false;
  }

  /** Lets go of every spare; nothing boots after. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#tidy);
    for (const timer of this.#retry.values()) clearTimeout(timer);
    this.#retry.clear();
    const all = [...this.#ready.values()].flat();
    this.#ready.clear();
    await Promise.all(all.map((s) => this.#o.discard(s)));
  }

  #now(): number {
    return this.#o.now?.() ?? Date.now();
  }

  #target(agentGroupId: string): number {
    const last = this.#traffic.get(agentGroupId);
    return last !== undefined && this.#now() - last < RECENT_TRAFFIC_MS ? this.#o.perGroup : 0;
  }

  #topUp(agentGroupId: string): void {
    if (this.#closed || this.#retry.has(agentGroupId)) return;
    const have = this.waiting(agentGroupId) + (this.#booting.get(agentGroupId) ?? 0);
    if (have >= this.#target(agentGroupId) || !this.#o.room()) return;
    if (this.#o.fingerprint(agentGroupId) === undefined) return;
    this.#booting.set(agentGroupId, (this.#booting.get(agentGroupId) ?? 0) + 1);
    this.#o.boot(agentGroupId).then(
      (spare) => {
        this.#booted(agentGroupId);
        if (!spare) return;
        if (this.#closed || spare.fingerprint !== this.#o.fingerprint(agentGroupId)) {
          void this.#o.discard(spare);
          return;
        }
        const list = this.#ready.get(agentGroupId) ?? [];
        list.push(spare);
        this.#ready.set(agentGroupId, list);
        spare.exited.then(() => this.#diedWaiting(spare), () => this.#diedWaiting(spare));
        this.#topUp(agentGroupId);
      },
      (err) => {
        this.#booted(agentGroupId);
        this.#failed(agentGroupId, err instanceof Error ? err.message : String(err));
      },
    );
  }

  #booted(agentGroupId: string): void {
    const left = (this.#booting.get(agentGroupId) ?? 1) - 1;
    if (left > 0) this.#booting.set(agentGroupId, left);
    else this.#booting.delete(agentGroupId);
  }

  /** A spare still in the pool ended: it is let go and replaced after the backoff. */
  #diedWaiting(spare: S): void {
    const list = this.#ready.get(spare.agentGroupId);
    const at = list?.indexOf(spare) ?? -1;
    if (!list || at < 0) return; // taken or let go: not the pool's any more
    list.splice(at, 1);
    void this.#o.discard(spare);
    this.#failed(spare.agentGroupId, "the spare's sandbox ended while it waited");
  }

  #failed(agentGroupId: string, error: string): void {
    if (this.#closed) return;
    const failures = (this.#failures.get(agentGroupId) ?? 0) + 1;
    this.#failures.set(agentGroupId, failures);
    const base = this.#o.retryBaseMs ?? SPARE_RETRY_BASE_MS;
    const delay = Math.min(base * 2 ** (failures - 1), SPARE_RETRY_CAP_MS);
    this.#o.onFailure?.(agentGroupId, error, delay);
    clearTimeout(this.#retry.get(agentGroupId));
    this.#retry.set(
      agentGroupId,
      setTimeout(() => {
        this.#retry.delete(agentGroupId);
        this.#topUp(agentGroupId);
      }, delay),
    );
  }

  #letGoOfQuietGroups(): void {
    for (const group of [...this.#ready.keys()]) {
      if (this.#target(group) === 0 || this.#o.fingerprint(group) === undefined) {
        void this.discardGroup(group);
      }
    }
  }
}
