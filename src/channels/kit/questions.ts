/**
 * Agents' questions as chat text, the same on every platform: the message
 * a question is posted with (its options listed when the platform shows no
 * buttons for them), what it becomes once answered, and the id an option's
 * button carries (`q:<question id>:<option index>`; each platform checks it
 * fits its own limit).
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

const CHOICE_PREFIX = "q:";

/** The id the button of option `index` of question `questionId` carries. */
export function choiceId(questionId: string, index: number): string {
  return `${CHOICE_PREFIX}${questionId}:${index}`;
}

/** The question and option a button's id names, or undefined for anything else. */
export function parseChoiceId(id: string): { questionId: string; index: number } | undefined {
  if (!id.startsWith(CHOICE_PREFIX)) return undefined;
  const at = id.lastIndexOf(":");
  const questionId = id.slice(CHOICE_PREFIX.length, at);
  if (questionId === "" || !/^\d{1,3}$/.test(id.slice(at + 1))) return undefined;
  return { questionId, index: Number(id.slice(at + 1)) };
}
