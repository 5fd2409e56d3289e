/**
 * The agent's side of the queue lease (`LEASE` in `contract/sockets.ts`).
 * Under gVisor SQLite's file locks stay inside the sandbox, so the host
 * cannot see them: the agent asks the host for a lease around every
 * transaction it runs on its queue files (opens included), and the host
 * keeps its own transactions out of the way meanwhile.
 *
 * An idle loop waits for the bell: its last release says so, and the host's
 * next ring then grants the lease with the bell on this socket (no acquire
 * round trip); a release also carries the turn's outbound ring. Both are
 * notes the loop gives each turn ({@link ReleaseNote}).
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

/** What a turn's release tells the host besides ending the lease (both ride on the release's one write). */
export interface ReleaseNote {
  /** The turn wrote outbound rows: the release rings the host, no doorbell ring of its own. */
  outbound?: boolean;
  /**
   * The loop waits for the bell after this turn (and wakes at it): the
   * host's next ring may grant the lease with it, so the next turn needs no
   * acquire. Never after a turn that a model or tool call follows.
   */
  idle?: boolean;
}

/** The doorbell a lease works beside. */
export interface LeaseBell {
  /** Wakes the loop as the doorbell's ring would: the host rang with the lease, on the lease socket. */
  wake(): void;
  /** Rings the host for outbound rows a release could not carry. */
  ring(): Promise<void>;
}

/** Runs queue transactions in turns the host grants. */
export interface QueueLease {
  /**
   * Runs `fn` (queue calls) while holding the lease; one at a time. An
   * async `fn` holds it until it settles: it may await only what cannot
   * wait on the host (the engage turn's model request being written).
   * `note`, given what `fn` returned, says what the release tells the host.
   */
  run<T>(fn: () => T | Promise<T>, note?: (result: T) => ReleaseNote): Promise<T>;
  /** True while a lease is held (queue calls are allowed). */
  readonly held: boolean;
}

/**
 * A lease for a loop with no host lease to ask (tests of the loop alone):
 * every call runs at once, and a note of outbound rows rings `bell`.
 */
export function unleased(bell?: Pick<LeaseBell, "ring">): QueueLease {
  return {
    async run<T>(fn: () => T | Promise<T>, note?: (result: T) => ReleaseNote): Promise<T> {
      await Promise.resolve();
      const result = await fn();
      if (note?.(result).outbound) await bell?.ring();
      return result;
    },
    held: true,
  };
}

/** Reconnect timing, and the doorbell the lease works with. */
export interface LeaseClientOptions {
  retryBaseMs?: number;
  retryCapMs?: number;
  /**
   * The agent's doorbell. With it the client tells the host when the loop
   * waits for the bell (`ReleaseNote.idle`) and wakes it when the host rings
   * with the lease; notes of outbound rows no release carried ring it.
   */
  bell?: LeaseBell;
}

/** A client of the host's lease socket. */
export class LeaseClient implements QueueLease {
  #conn: Deno.UnixConn | undefined;
  #held = false;
  /** The host rang with the lease (`LEASE.bell`) and no turn has used it yet. */
  #bellGranted = false;
  /** The read in flight on the connection while the loop waits for the bell. */
  #reading: Promise<number | null> | undefined;
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

  run<T>(fn: () => T | Promise<T>, note?: (result: T) => ReleaseNote): Promise<T> {
    // Turns are serial: a second caller waits for the first one's release.
    const turn = this.#tail.then(() => this.#turn(fn, note));
    this.#tail = turn.catch(() => {});
    return turn;
  }

  /** Hangs up (ending any lease) and stops asking. */
  close(): void {
    this.#closed = true;
    this.#hangUp();
  }

  async #turn<T>(fn: () => T | Promise<T>, note?: (result: T) => ReleaseNote): Promise<T> {
    const leased = this.#takeBellGrant() || await this.#acquire();
    this.#held = true;
    let said: ReleaseNote = {};
    try {
      const result = await fn();
      said = note?.(result) ?? {};
      return result;
    } finally {
      this.#held = false;
      if (leased) await this.#release(said);
      else if (said.outbound) await this.options.bell?.ring();
    }
  }

  #takeBellGrant(): boolean {
    const granted = this.#bellGranted;
    this.#bellGranted = false;
    return granted;
  }

  /** Takes the lease; false when there is no host lease server to ask (run unleased). */
  async #acquire(): Promise<boolean> {
    // Claimed before any await: a bell on its way answers this acquire, which joins its lease (the host knows).
    let inFlight = this.#reading;
    this.#reading = undefined;
    // A lost connection (the host revoked a lease, or restarted) is re-established once, then we give up.
    for (let attempt = 0; attempt < 2; attempt++) {
      const conn = await this.#connect();
      if (!conn) return false;
      try {
        await writeAll(conn, Uint8Array.of(LEASE.acquire));
        const reply = await (inFlight ?? readByte(conn));
        // A bell here crossed the acquire: this turn, a poll, reads what it announced.
        if (reply === LEASE.granted || reply === LEASE.bell) return true;
      } catch {
        // Dropped: reconnect below.
      }
      inFlight = undefined;
      this.#hangUp();
    }
    this.#unavailable("lease refused");
    return false;
  }

  async #release(note: ReleaseNote): Promise<void> {
    const conn = this.#conn;
    const idle = note.idle === true && this.options.bell !== undefined;
    const bytes: number[] = [LEASE.release];
    if (note.outbound) bytes.push(LEASE.outbound);
    if (idle) bytes.push(LEASE.idle);
    try {
      if (!conn) throw new Error("not connected");
      await writeAll(conn, Uint8Array.from(bytes));
    } catch {
      // The host hung up (it revoked the lease at its cap): the next turn reconnects.
      this.#hangUp();
      if (note.outbound) await this.options.bell?.ring();
      return;
    }
    if (idle) this.#awaitBell(conn);
  }

  /** Reads the host's next byte while no turn runs: a bell that grants the lease and wakes the loop. */
  #awaitBell(conn: Deno.UnixConn): void {
    const reading = readByte(conn);
    this.#reading = reading;
    reading.then((byte) => {
      if (this.#reading !== reading) return; // an acquire took it as its answer
      this.#reading = undefined;
      if (byte === LEASE.bell) {
        this.#bellGranted = true;
        this.options.bell?.wake();
      } else {
        this.#hangUp(); // the host hung up (it went away), or sent what it must not
      }
    });
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
    this.#reading = undefined;
    this.#bellGranted = false;
  }
}

/** The host's next byte; null once it hung up. */
async function readByte(conn: Deno.UnixConn): Promise<number | null> {
  const reply = new Uint8Array(1);
  try {
    return (await conn.read(reply)) === 1 ? reply[0] : null;
  } catch {
    return null;
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
