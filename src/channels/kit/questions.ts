/**
 * Agents' questions as chat text, the same on every platform: the message
 * a question is posted with (its options listed when the platform shows no
 * buttons for them) and what it becomes once answered.
 *
 * @module
 */
import type { Question } from "../../questions/mod.ts";

/** The text a question is posted with; `buttons` says whether its options are shown as buttons. */
export function questionText(q: Question, buttons: boolean): string {
  const lines = [`❓ ${q.question}`];
  if (!buttons && q.options.length > 0) lines.push("", ...q.options.map((o, i) => `${i + 1}. ${o}`));
  if (q.allowFreeform || !buttons) lines.push("", "Reply to this message to answer in your own words.");
  return lines.join("\n");
}

/** The text a question's message becomes once answered (by `by`, as the chat names them). */
export function answeredText(q: Question, by: string): string {
  return `❓ ${q.question}\n\n✅ ${q.answer} (${by})`;
}
