/**
 * Conversation history across engagements (and restarts, via session
 * state). History is a list of exchanges, one per engagement: the prompt,
 * any tool traffic, the final answer. Whole exchanges are dropped oldest
 * first, so a tool call never loses its result; long tool results are
 * clipped, since the model can fetch them again.
 *
 * @module
 */
import type { Message } from "../model/mod.ts";

/** One engagement's messages, starting with the user's prompt. */
export type Exchange = Message[];

/** How much history is kept. */
export interface HistoryLimits {
  maxExchanges: number;
  /** Budget for the whole history, in bytes of JSON. */
  maxBytes: number;
  /** Longest tool result kept, in characters. */
  maxToolResultChars: number;
}

/** The defaults: 20 exchanges within 256 KiB, tool results clipped to 4 KiB. */
export const HISTORY_LIMITS: HistoryLimits = {
  maxExchanges: 20,
  maxBytes: 256 * 1024,
  maxToolResultChars: 4096,
};

/** Appends an exchange and trims the history to `limits`. */
export function appendExchange(
  history: readonly Exchange[],
  exchange: Exchange,
  limits: HistoryLimits = HISTORY_LIMITS,
): Exchange[] {
  const next = [...history, compact(exchange, limits)];
  while (next.length > limits.maxExchanges || (next.length > 0 && byteSize(next) > limits.maxBytes)) {
    next.shift();
  }
  return next;
}

/** The history as one message list. */
export function historyMessages(history: readonly Exchange[]): Message[] {
  return history.flat();
}

function compact(exchange: Exchange, limits: HistoryLimits): Exchange {
  return exchange
    // An empty assistant message cannot be sent back to the model.
    .filter((m) => m.content.length > 0)
    .map((m) => ({
      role: m.role,
      content: m.content.map((b) =>
        b.type === "tool_result" && b.content.length > limits.maxToolResultChars
          ? {
            ...b,
            content: `${b.content.slice(0, limits.maxToolResultChars)}\n[… ${
              b.content.length - limits.maxToolResultChars
            } more characters not kept]`,
          }
          : b
      ),
    }));
}

function byteSize(history: readonly Exchange[]): number {
  return new TextEncoder().encode(JSON.stringify(history)).length;
}
