/**
 * The agent's side of the queue lease (`LEASE` in `contract/sockets.ts`).
 * Under gVisor SQLite's file locks stay inside the sandbox, so the host
 * cannot see them: the agent asks the host for a lease around every
 * transaction it runs on its queue files (opens included), and the host
 * keeps its own transactions out of the way meanwhile.
 *
 * When the lease socket is absent or refuses connections (no host lease
 * server), a transaction runs unleased on SQLite's file locks alone, which
 * hold wherever host and agent share a kernel; the agent warns once and asks
 * again (after a backoff) before a later transaction.
 *
 * @module
 */
import { LEASE } from "../../contract/sockets.ts";
import type { Logger } from "../log.ts";
import { backoffDelay } from "./backoff.ts";

/** Runs queue transactions in turns the host grants. */
export interface QueueLease {
  /**
   * Runs `fn` (queue calls) while holding the lease; one at a time. An
   * async `fn` holds it until it settles: it may await only what cannot
   * wait on the host (the engage turn's model request being written).
   */
  run<T>(fn: () => T | Promise<T>): Promise<T>;
  /** True while a lease is held (queue calls are allowed). */
  readonly held: boolean;
}

/** A lease for a loop with no host to ask (tests of the loop alone): every call runs at once. */
export const UNLEASED: QueueLease = {
  run: <T>(fn: () => T | Promise<T>) => Promise.resolve().then(fn),
  held: true,
};

/** Reconnect timing. */
export interface LeaseClientOptions {
  retryBaseMs?: number;
  retryCapMs?: number;
}

/** A client of the host's lease socket. */
export class LeaseClient implements QueueLease {
  #conn: Deno.UnixConn | undefined;
  #held = false;
  #tail: Promise<unknown> = Promise.resolve();
  #failures = 0;
  #retryAt = 0;
  #announced = false;
  #closed = false;

  constructor(readonly path: string, readonly log: Logger, readonly options: LeaseClientOptions = {}) {}

  get held(): boolean {
    return this.#held;
  }

  /** True while connected to the host's lease server. */
  get connected(): boolean {
    return this.#conn !== undefined;
  }

  run<T>(fn: () => T | Promise<T>): Promise<T> {
    // Turns are serial: a second caller waits for the first one's release.
    const turn = this.#tail.then(() => this.#turn(fn));
    this.#tail = turn.catch(() => {});
    return turn;
  }

  /** Hangs up (ending any lease) and stops asking. */
  close(): void {
    this.#closed = true;
    this.#hangUp();
  }

  async #turn<T>(fn: () => T | Promise<T>): Promise<T> {
    const leased = await this.#acquire();
    this.#held = true;
    try {
      return await fn();
    } finally {
      this.#held = false;
      if (leased) await this.#release();
    }
  }

  /** Takes the lease; false when there is no host lease server to ask (run unleased). */
  async #acquire(): Promise<boolean> {
    // A lost connection (the host revoked a lease, or restarted) is re-established once, then we give up.
    for (let attempt = 0; attempt < 2; attempt++) {
      const conn = await this.#connect();
      if (!conn) return false;
      try {
        await writeAll(conn, Uint8Array.of(LEASE.acquire));
        const reply = new Uint8Array(1);
        const n = await conn.read(reply);
        if (n === 1 && reply[0] === LEASE.granted) return true;
      } catch {
        // Dropped: reconnect below.
      }
      this.#hangUp();
    }
    this.#unavailable("lease refused");
    return false;
  }

  async #release(): Promise<void> {
    const conn = this.#conn;
    if (!conn) return;
    try {
      await writeAll(conn, Uint8Array.of(LEASE.release));
    } catch {
      // The host hung up (it revoked the lease at its cap): the next turn reconnects.
      this.#hangUp();
    }
  }

  async #connect(): Promise<Deno.UnixConn | undefined> {
    if (this.#conn) return this.#conn;
    if (this.#closed || Date.now() < this.#retryAt) return undefined;
    try {
      this.#conn = await Deno.connect({ transport: "unix", path: this.path });
    } catch (err) {
      this.#unavailable(err instanceof Error ? err.name : "unknown");
      return undefined;
    }
    if (this.#failures > 0 || this.#announced) this.log.info("lease.connected");
    this.#failures = 0;
    this.#announced = false;
    return this.#conn;
  }

  #unavailable(error: string): void {
    this.#failures++;
    this.#retryAt = Date.now() +
      backoffDelay(this.#failures, this.options.retryBaseMs ?? 250, this.options.retryCapMs ?? 5000);
    if (this.#announced) return;
    this.#announced = true;
    this.log.warn("lease.unavailable", { error });
  }

  #hangUp(): void {
    try {
      this.#conn?.close();
    } catch { /* already closed */ }
    this.#conn = undefined;
  }
}

async function writeAll(conn: Deno.UnixConn, bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.length;) done += await conn.write(bytes.subarray(done));
}

/**
 * `handle` with every method refused outside a lease: a queue call the loop
 * makes without `lease.run` is a bug that would race the host under gVisor.
 */
export function leased<T extends object>(handle: T, lease: QueueLease, name: string): T {
  return new Proxy(handle, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function" || prop === "close" || prop === Symbol.dispose) return value;
      return (...args: unknown[]) => {
        if (!lease.held) throw new Error(`${name}.${String(prop)} called outside the queue lease`);
        return value.apply(target, args);
      };
    },
  });
}
