/**
 * The doorbell: a byte stream on a host-owned unix socket. Each
 * {@link DOORBELL.inbound} byte from the host means "inbound rows are
 * waiting", so the loop polls at once instead of on its timer; the agent
 * sends {@link DOORBELL.outbound} after it appends outbound rows. When the
 * socket is absent, the agent retries with backoff and polls on its timer
 * meanwhile: the bell only ever shortens a wait. Once connected, the host
 * closing the connection means the host process ended (it never hangs up on a
 * running agent): with `onHostGone` the agent then stops, so it never keeps
 * answering beside the sandbox its restarted host launches for the session.
 *
 * @module
 */
import { DOORBELL } from "../../contract/sockets.ts";
import type { Logger } from "../log.ts";
import { backoffDelay } from "./backoff.ts";
import { sleep } from "./sleep.ts";

/** Reconnect timing. */
export interface DoorbellOptions {
  reconnectBaseMs?: number;
  reconnectCapMs?: number;
  /** Called once when an established connection ends; the doorbell then stops instead of reconnecting. */
  onHostGone?: () => void;
}

/** A client of the host's doorbell socket. */
export class Doorbell {
  #conn: Deno.UnixConn | undefined;
  #rung = false;
  #waiter: (() => void) | undefined;
  #stop = new AbortController();
  #running: Promise<void> | undefined;

  constructor(readonly path: string, readonly log: Logger, readonly options: DoorbellOptions = {}) {}

  /** Starts connecting (and reconnecting) in the background. */
  start(): void {
    this.#running ??= this.#run();
  }

  /** True while connected. */
  get connected(): boolean {
    return this.#conn !== undefined;
  }

  /** Waits up to `ms`; true when the bell rang (including while nobody waited). */
  wait(ms: number, signal: AbortSignal): Promise<boolean> {
    if (this.#rung || signal.aborted) {
      const rang = this.#rung;
      this.#rung = false;
      return Promise.resolve(rang);
    }
    return new Promise((resolve) => {
      const finish = (rang: boolean) => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        this.#waiter = undefined;
        if (rang) this.#rung = false;
        resolve(rang);
      };
      const onAbort = () => finish(false);
      const timer = setTimeout(() => finish(false), ms);
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiter = () => finish(true);
    });
  }

  /** Wakes a waiter as the host's byte would: the host rang on the lease socket instead (`LEASE.bell`). */
  wake(): void {
    this.#rung = true;
    this.#waiter?.();
  }

  /** Tells the host outbound rows are waiting (best effort: the host also polls). */
  async ring(): Promise<void> {
    try {
      await this.#conn?.write(Uint8Array.of(DOORBELL.outbound));
    } catch { /* the reader notices the broken connection */ }
  }

  /** Disconnects and stops reconnecting. */
  async close(): Promise<void> {
    this.#stop.abort();
    this.#closeConn();
    await this.#running;
  }

  #closeConn(): void {
    try {
      this.#conn?.close();
    } catch { /* already closed */ }
    this.#conn = undefined;
  }

  async #run(): Promise<void> {
    const base = this.options.reconnectBaseMs ?? 250;
    const cap = this.options.reconnectCapMs ?? 30_000;
    let failures = 0;
    let announced = false;
    while (!this.#stop.signal.aborted) {
      try {
        const conn = await Deno.connect({ transport: "unix", path: this.path });
        if (this.#stop.signal.aborted) {
          conn.close();
          return;
        }
        this.#conn = conn;
        failures = 0;
        announced = false;
        this.log.info("doorbell.connected");
        // Bells rung while we were away are lost; assume one was.
        this.wake();
        const buf = new Uint8Array(256);
        try {
          for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
            if (buf.subarray(0, n).includes(DOORBELL.inbound)) this.wake();
          }
        } catch { /* a broken connection ends it like EOF */ }
        if (this.options.onHostGone && !this.#stop.signal.aborted) {
          this.#closeConn();
          this.log.warn("doorbell.host_gone");
          this.options.onHostGone();
          return;
        }
      } catch (err) {
        if (!announced && !this.#stop.signal.aborted) {
          this.log.warn("doorbell.unavailable", { error: err instanceof Error ? err.name : "unknown" });
          announced = true;
        }
      }
      this.#closeConn();
      if (this.#stop.signal.aborted) return;
      await sleep(backoffDelay(++failures, base, cap), this.#stop.signal);
    }
  }
}
