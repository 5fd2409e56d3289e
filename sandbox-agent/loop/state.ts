/**
 * The loop's durable state in the outbound queue's `session_state`: the
 * accumulation buffer, the ids already answered, the conversation history,
 * and when the user last reset. Restored at start-up, so a respawned agent
 * resumes where it stopped and never answers a message twice.
 *
 * The history is one row per exchange (`loop.history.<slot>`, the value
 * `{"n": <order>, "exchange": [...]}`), so a reply writes one row: its commit
 * stays a few pages however long the conversation is, where rewriting the
 * whole history as one value rewrote every page of it at every reply. The
 * new exchange takes the slot of the oldest one it pushes out, so a full
 * history is updated in place (an insert or a delete would touch the key
 * index's page as well). A history saved whole by an older agent
 * (`loop.history`) is read, and turned into rows at the next save. Unchanged
 * values are not written again.
 *
 * @module
 */
import { z } from "zod";
import { MessageIn } from "../../contract/rows.ts";
import type { OutboundWriter } from "../../contract/queue/sandbox.ts";
import { Message } from "../model/mod.ts";
import type { Logger } from "../log.ts";
import type { Exchange } from "./history.ts";

/** Keys in `session_state`. */
export const STATE_KEYS = {
  buffer: "loop.buffer",
  doneIds: "loop.done_ids",
  /** The whole history as one value, as agents before 2026-12-07 saved it: read, then converted to rows. */
  legacyHistory: "loop.history",
  /** One exchange per key: this prefix and a slot number; the order is in the value. */
  historyPrefix: "loop.history.",
  resetAt: "reset_at",
} as const;

/** What the loop remembers. */
export interface LoopState {
  buffer: MessageIn[];
  doneIds: string[];
  history: Exchange[];
}

const SCHEMAS = {
  buffer: z.array(MessageIn),
  doneIds: z.array(z.string()),
  history: z.array(z.array(Message)),
};
/** A history row's value: the exchange and its place in the history. */
const HistoryRowValue = z.object({ n: z.number().int(), exchange: z.array(Message) });

/** A stored history row: its key and the exchange it holds (absent when the row was unreadable). */
interface HistoryRow {
  key: string;
  exchange?: Exchange;
}

/** `loop.history.<slot>`. */
function historyKey(slot: number): string {
  return `${STATE_KEYS.historyPrefix}${slot}`;
}

/** What the store believes the file holds; copied before a transaction and restored if it rolls back. */
interface Mirror {
  /** The JSON last read or written per plain key (buffer, done ids). */
  saved: Map<string, string>;
  /** Oldest first. */
  rows: HistoryRow[];
  /** The next exchange's order number. */
  next: number;
  /** The next unused slot number. */
  nextSlot: number;
  /** A whole-history value is still in the file. */
  legacy: boolean;
}

/** Reads and writes {@link LoopState}. */
export class StateStore {
  #mirror: Mirror = { saved: new Map(), rows: [], next: 0, nextSlot: 0, legacy: false };

  constructor(readonly outbound: OutboundWriter, readonly log: Logger) {}

  /** The saved state; a missing or unreadable value starts empty (and is logged). */
  load(): LoopState {
    const saved = this.outbound.loadSessionState();
    const parse = <T>(key: string, text: string, schema: z.ZodType<T>): T | undefined => {
      try {
        return schema.parse(JSON.parse(text));
      } catch {
        this.log.warn("state.unreadable", { key, bytes: text.length });
        return undefined;
      }
    };
    const mirror: Mirror = { saved: new Map(), rows: [], next: 0, nextSlot: 0, legacy: false };
    const plain = <K extends "buffer" | "doneIds">(key: K): LoopState[K] => {
      const text = saved[STATE_KEYS[key]];
      if (text === undefined) return [];
      mirror.saved.set(STATE_KEYS[key], text);
      return (parse<unknown>(STATE_KEYS[key], text, SCHEMAS[key]) ?? []) as LoopState[K];
    };
    const state = { buffer: plain("buffer"), doneIds: plain("doneIds"), history: [] as Exchange[] };
    const rows: { key: string; n: number; exchange?: Exchange }[] = [];
    for (const key of Object.keys(saved).filter((key) => key.startsWith(STATE_KEYS.historyPrefix))) {
      const value = parse(key, saved[key], HistoryRowValue);
      // An unreadable row sorts first, so its slot is the first one reused.
      rows.push(value ? { key, ...value } : { key, n: -1 });
      if (value) mirror.next = Math.max(mirror.next, value.n + 1);
      const slot = Number(key.slice(STATE_KEYS.historyPrefix.length));
      if (Number.isSafeInteger(slot)) mirror.nextSlot = Math.max(mirror.nextSlot, slot + 1);
    }
    rows.sort((a, b) => a.n - b.n);
    mirror.rows = rows.map(({ key, exchange }) => (exchange ? { key, exchange } : { key }));
    state.history = rows.flatMap((row) => row.exchange ? [row.exchange] : []);
    const legacy = saved[STATE_KEYS.legacyHistory];
    if (legacy !== undefined) {
      mirror.legacy = true;
      // Rows are newer than a whole-history value: an agent that wrote rows never wrote the value again.
      if (rows.length === 0) state.history = parse(STATE_KEYS.legacyHistory, legacy, SCHEMAS.history) ?? [];
    }
    this.#mirror = mirror;
    return state;
  }

  /** Saves the buffer or the done ids, unless the file already holds that value. */
  save<K extends "buffer" | "doneIds">(key: K, value: LoopState[K]): void {
    const text = JSON.stringify(value);
    if (this.#mirror.saved.get(STATE_KEYS[key]) === text) return;
    this.outbound.putSessionState(STATE_KEYS[key], text);
    this.#mirror.saved.set(STATE_KEYS[key], text);
  }

  /**
   * Saves `history`: a row for each exchange not stored yet, in the slot of
   * a stored one no longer in it when there is one; the slots left over are
   * deleted. Exchanges are matched by identity, as the loop's history is the
   * previous one's objects plus new ones.
   */
  saveHistory(history: readonly Exchange[]): void {
    const mirror = this.#mirror;
    const kept = new Set(history);
    const freed = mirror.rows.filter((row) => !row.exchange || !kept.has(row.exchange)).map((row) => row.key);
    const stored = new Map(mirror.rows.map((row) => [row.exchange, row]));
    mirror.rows = history.map((exchange) => {
      const row = stored.get(exchange);
      if (row) return row;
      const key = freed.shift() ?? historyKey(mirror.nextSlot++);
      this.outbound.putSessionState(key, JSON.stringify({ n: mirror.next++, exchange }));
      return { key, exchange };
    });
    if (mirror.legacy) freed.push(STATE_KEYS.legacyHistory);
    this.outbound.deleteSessionState(freed);
    mirror.legacy = false;
  }

  /** Records a user's /reset. */
  markReset(): void {
    this.outbound.putSessionState(STATE_KEYS.resetAt, new Date().toISOString());
  }

  /**
   * Runs `fn`'s writes as one outbound transaction. When it rolls back, so
   * does what the store believes the file holds, so the next save writes
   * what the file lacks.
   */
  transaction<T>(fn: () => T): T {
    const before = { ...this.#mirror, saved: new Map(this.#mirror.saved), rows: [...this.#mirror.rows] };
    try {
      return this.outbound.transaction(fn);
    } catch (err) {
      this.#mirror = before;
      throw err;
    }
  }
}
