/**
 * The loop's durable state in the outbound queue's `session_state`: the
 * conversation history and when the user last reset. Restored at start-up,
 * so a respawned agent resumes where it stopped.
 *
 * What the loop was answering, and what it has answered, is not kept here:
 * its acknowledgements say it (`processing_ack`, written in the same
 * transactions), and the loop reads them back at start-up
 * (`AgentLoop`'s restore). Agents before 2026-12-07 also saved the
 * accumulation buffer (`loop.buffer`) and the answered ids
 * (`loop.done_ids`) at every turn: a page more in each commit. Those values
 * are read once, merged with what the acknowledgements say, and deleted by
 * the next commit.
 *
 * The history is one row per exchange (`loop.history.<slot>`, the value
 * `{"n": <order>, "exchange": [...]}`), so a reply writes one row: its commit
 * stays a few pages however long the conversation is, where rewriting the
 * whole history as one value rewrote every page of it at every reply. The
 * new exchange takes the slot of the oldest one it pushes out, so a full
 * history is updated in place (an insert or a delete would touch the key
 * index's page as well). A history saved whole by an older agent
 * (`loop.history`) is read, and turned into rows at the next save.
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
  /** The accumulation buffer, as agents before 2026-12-07 saved it: read once, then deleted. */
  legacyBuffer: "loop.buffer",
  /** The answered ids, as agents before 2026-12-07 saved them: read once, then deleted. */
  legacyDoneIds: "loop.done_ids",
  /** The whole history as one value, as agents before 2026-12-07 saved it: read, then converted to rows. */
  legacyHistory: "loop.history",
  /** One exchange per key: this prefix and a slot number; the order is in the value. */
  historyPrefix: "loop.history.",
  resetAt: "reset_at",
} as const;

/** What the store holds for the loop. */
export interface LoopState {
  history: Exchange[];
  /** An older agent's buffer and answered ids (empty when it left none). */
  legacy: { buffer: MessageIn[]; doneIds: string[] };
}

const SCHEMAS = {
  legacyBuffer: z.array(MessageIn),
  legacyDoneIds: z.array(z.string()),
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
  /** An older agent's buffer and answered-id keys still in the file. */
  legacyKeys: string[];
  /** Oldest first. */
  rows: HistoryRow[];
  /** The next exchange's order number. */
  next: number;
  /** The next unused slot number. */
  nextSlot: number;
  /** A whole-history value is still in the file. */
  legacyHistory: boolean;
}

/** Reads and writes {@link LoopState}. */
export class StateStore {
  #mirror: Mirror = { legacyKeys: [], rows: [], next: 0, nextSlot: 0, legacyHistory: false };

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
    const mirror: Mirror = { legacyKeys: [], rows: [], next: 0, nextSlot: 0, legacyHistory: false };
    const legacyValue = <T>(key: string, schema: z.ZodType<T>): T | undefined => {
      const text = saved[key];
      if (text === undefined) return undefined;
      mirror.legacyKeys.push(key);
      return parse(key, text, schema);
    };
    const state: LoopState = {
      history: [],
      legacy: {
        buffer: legacyValue(STATE_KEYS.legacyBuffer, SCHEMAS.legacyBuffer) ?? [],
        doneIds: legacyValue(STATE_KEYS.legacyDoneIds, SCHEMAS.legacyDoneIds) ?? [],
      },
    };
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
      mirror.legacyHistory = true;
      // Rows are newer than a whole-history value: an agent that wrote rows never wrote the value again.
      if (rows.length === 0) state.history = parse(STATE_KEYS.legacyHistory, legacy, SCHEMAS.history) ?? [];
    }
    this.#mirror = mirror;
    return state;
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
    if (mirror.legacyHistory) freed.push(STATE_KEYS.legacyHistory);
    this.outbound.deleteSessionState(freed);
    mirror.legacyHistory = false;
  }

  /** Records a user's /reset. */
  markReset(): void {
    this.outbound.putSessionState(STATE_KEYS.resetAt, new Date().toISOString());
  }

  /**
   * Runs `fn`'s writes as one outbound transaction, which also deletes an
   * older agent's buffer and answered ids (their content is in the loop's
   * memory now, and an older agent restarted later must not take them for
   * current). When it rolls back, so does what the store believes the file
   * holds, so the next save writes what the file lacks.
   */
  transaction<T>(fn: () => T): T {
    const before = {
      ...this.#mirror,
      legacyKeys: [...this.#mirror.legacyKeys],
      rows: [...this.#mirror.rows],
    };
    try {
      return this.outbound.transaction(() => {
        this.outbound.deleteSessionState(this.#mirror.legacyKeys);
        this.#mirror.legacyKeys = [];
        return fn();
      });
    } catch (err) {
      this.#mirror = before;
      throw err;
    }
  }
}
