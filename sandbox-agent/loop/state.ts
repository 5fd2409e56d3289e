/**
 * The loop's durable state in the outbound queue's `session_state`: the
 * accumulation buffer, the ids already answered, the conversation history,
 * and when the user last reset. Restored at start-up, so a respawned agent
 * resumes where it stopped and never answers a message twice.
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
  history: "loop.history",
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

/** Reads and writes {@link LoopState}. */
export class StateStore {
  constructor(readonly outbound: OutboundWriter, readonly log: Logger) {}

  /** The saved state; a missing or unreadable key starts empty (and is logged). */
  load(): LoopState {
    const saved = this.outbound.loadSessionState();
    const read = <K extends keyof LoopState>(key: K): LoopState[K] => {
      const text = saved[STATE_KEYS[key]];
      if (text === undefined) return [];
      try {
        return SCHEMAS[key].parse(JSON.parse(text)) as LoopState[K];
      } catch {
        this.log.warn("state.unreadable", { key: STATE_KEYS[key], bytes: text.length });
        return [];
      }
    };
    return { buffer: read("buffer"), doneIds: read("doneIds"), history: read("history") };
  }

  /** Saves one part of the state. */
  save<K extends keyof LoopState>(key: K, value: LoopState[K]): void {
    this.outbound.putSessionState(STATE_KEYS[key], JSON.stringify(value));
  }

  /** Records a user's /reset. */
  markReset(): void {
    this.outbound.putSessionState(STATE_KEYS.resetAt, new Date().toISOString());
  }
}
