/**
 * The host's lock over one session's two queue files, shared with the
 * sandbox through the queue lease (`LEASE` in `contract/sockets.ts`).
 *
 * SQLite's POSIX locks do not cross a gVisor boundary, so the host is the
 * lock authority: at any moment either the host or the agent may touch the
 * files, never both. Two parties take turns:
 *
 * - **The host.** Every host queue call is a synchronous FFI call, so a host
 *   transaction is atomic with respect to everything else on the event loop,
 *   the lease server included. A host *turn* ({@link QueueLease.hold}) waits
 *   (asynchronously, never blocking the loop) until the agent holds no lease,
 *   and then lasts until the current macrotask ends: the caller runs its
 *   synchronous transactions right after its `await`, and agent requests
 *   arriving meanwhile queue behind it.
 * - **The agent.** One lease at a time ({@link QueueLease.request}), granted
 *   when no host turn is running, first come first served, and capped: after
 *   `capMs` the host revokes it (the server hangs up) and takes the files
 *   back. Reads of outbound are untrusted anyway, so a revoked agent still
 *   writing can only make the host retry.
 *
 * Host waiters go first when a lease ends, so a busy agent cannot starve the
 * host, and an agent request goes first when a host turn ends.
 *
 * @module
 */
import { LEASE_CAP_MS } from "../../contract/sockets.ts";

/** An agent's request for the lease. */
export interface AgentLease {
  /** Resolves true once granted, false if it ended (released, revoked, disposed) before that. */
  readonly granted: Promise<boolean>;
  /** Ends the lease, or withdraws the request while it waits. Idempotent. */
  release(): void;
}

/** How a lease behaves. */
export interface QueueLeaseOptions {
  /** The longest an agent lease lasts (default {@link LEASE_CAP_MS}). */
  capMs?: number;
}

interface Ticket {
  resolve(granted: boolean): void;
  onRevoke: () => void;
  state: "waiting" | "held" | "done";
  timer?: ReturnType<typeof setTimeout>;
}

/** One session's queue lock, arbitrated between the host and its agent. */
export class QueueLease {
  readonly capMs: number;
  #agent: Ticket | undefined;
  #queue: Ticket[] = [];
  #hostTurn = false;
  #turnTimer: ReturnType<typeof setTimeout> | undefined;
  #hostWaiters: (() => void)[] = [];
  #revocations = 0;
  #disposed = false;
  #requestWatchers: (() => void)[] = [];

  constructor(options: QueueLeaseOptions = {}) {
    this.capMs = options.capMs ?? LEASE_CAP_MS;
  }

  /** True while the agent holds the lease: a host transaction now could overlap the agent's. */
  get agentHolding(): boolean {
    return this.#agent !== undefined;
  }

  /** True during a host turn. */
  get hostHolding(): boolean {
    return this.#hostTurn;
  }

  /** Leases revoked at the cap so far (a hung or hostile agent). */
  get revocations(): number {
    return this.#revocations;
  }

  /**
   * Starts (or joins) a host turn: resolves once the agent holds no lease.
   * Synchronous queue calls made right after the `await` run inside the turn.
   */
  hold(): Promise<void> {
    if (this.#hostTurn || this.#disposed) return Promise.resolve();
    if (!this.#agent) {
      this.#beginHostTurn();
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#hostWaiters.push(resolve));
  }

  /**
   * Asks for the lease on the agent's behalf. `onRevoke` runs when the cap
   * takes the lease back (the server hangs up on the agent then).
   */
  request(onRevoke: () => void): AgentLease {
    for (const notify of this.#requestWatchers.splice(0)) notify();
    let resolve!: (granted: boolean) => void;
    const granted = new Promise<boolean>((r) => resolve = r);
    const ticket: Ticket = { resolve, onRevoke, state: "waiting" };
    if (this.#disposed) {
      ticket.state = "done";
      resolve(false);
    } else {
      this.#queue.push(ticket);
      this.#next();
    }
    return { granted, release: () => this.#end(ticket) };
  }

  /**
   * Resolves at the agent's next lease request: its program is up and at its
   * queues (the sandbox manager's sign that a start is over). Also resolves
   * on {@link dispose}.
   */
  nextAgentRequest(): Promise<void> {
    if (this.#disposed) return Promise.resolve();
    return new Promise((resolve) => this.#requestWatchers.push(resolve));
  }

  /** Ends every lease and request, and lets host turns through from now on. */
  dispose(): void {
    this.#disposed = true;
    for (const notify of this.#requestWatchers.splice(0)) notify();
    clearTimeout(this.#turnTimer);
    this.#hostTurn = false;
    for (const ticket of [...this.#queue, ...(this.#agent ? [this.#agent] : [])]) this.#end(ticket);
    for (const wake of this.#hostWaiters.splice(0)) wake();
  }

  #beginHostTurn(): void {
    this.#hostTurn = true;
    // A macrotask: every continuation of the awaits that joined this turn runs before it.
    this.#turnTimer = setTimeout(() => {
      this.#turnTimer = undefined;
      this.#hostTurn = false;
      this.#next(true);
    }, 0);
  }

  /** Hands the files on: to waiting host code first, unless a host turn just ended. */
  #next(afterHostTurn = false): void {
    if (this.#agent || this.#hostTurn || this.#disposed) return;
    if (this.#hostWaiters.length > 0 && !(afterHostTurn && this.#queue.length > 0)) {
      this.#beginHostTurn();
      for (const wake of this.#hostWaiters.splice(0)) wake();
      return;
    }
    const ticket = this.#queue.shift();
    if (!ticket) return;
    ticket.state = "held";
    this.#agent = ticket;
    ticket.timer = setTimeout(() => {
      this.#revocations++;
      this.#end(ticket);
      ticket.onRevoke();
    }, this.capMs);
    ticket.resolve(true);
  }

  #end(ticket: Ticket): void {
    if (ticket.state === "done") return;
    const was = ticket.state;
    ticket.state = "done";
    clearTimeout(ticket.timer);
    if (was === "waiting") {
      this.#queue = this.#queue.filter((t) => t !== ticket);
      ticket.resolve(false);
      return;
    }
    this.#agent = undefined;
    this.#next();
  }
}
