/**
 * Agents' questions in a chat: the message with one inline button per
 * option, and the button's `callback_data` (`q:<question id>:<option
 * index>`, within Telegram's 64-byte limit).
 *
 * @module
 */
import type { InlineKeyboardMarkup } from "grammy/types";
import type { Question } from "../../questions/mod.ts";
import { choiceId } from "../kit/mod.ts";

/** Telegram's limit on `callback_data`, in bytes. */
export const CALLBACK_DATA_LIMIT = 64;

/** The button data for option `index` of question `questionId`, or undefined when it would not fit. */
export function encodeAnswer(questionId: string, index: number): string | undefined {
  const data = choiceId(questionId, index);
  return new TextEncoder().encode(data).length <= CALLBACK_DATA_LIMIT ? data : undefined;
}

/** The keyboard of `q`: one button per option, one option a row; undefined without options or when ids do not fit. */
export function questionKeyboard(q: Question): InlineKeyboardMarkup | undefined {
  if (q.options.length === 0) return undefined;
  const rows = q.options.map((text, i) => {
    const data = encodeAnswer(q.id, i);
    return data === undefined ? undefined : [{ text: text.slice(0, 256), callback_data: data }];
  });
  if (rows.some((r) => r === undefined)) return undefined;
  return { inline_keyboard: rows as NonNullable<(typeof rows)[number]>[] };
}
