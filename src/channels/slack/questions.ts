/**
 * Agents' questions in Slack: a Block Kit message (the kit's question text)
 * with one button per option, each button's `action_id` naming the question
 * and the option (`q:<question id>:<option index>`, within Slack's 255
 * characters).
 *
 * @module
 */
import type { Question } from "../../questions/mod.ts";
import { choiceId, questionText } from "../kit/mod.ts";

/** Slack's limit on an `action_id`. */
export const ACTION_ID_LIMIT = 255;
/** Slack's limit on a button's text. */
const BUTTON_TEXT_LIMIT = 75;
/** Slack's limit on the elements of one actions block. */
const ACTIONS_PER_BLOCK = 25;

/** The `action_id` of option `index` of question `questionId`, or undefined when it would not fit. */
export function encodeAction(questionId: string, index: number): string | undefined {
  const id = choiceId(questionId, index);
  return id.length <= ACTION_ID_LIMIT ? id : undefined;
}

/** The Block Kit blocks of `q`: its text, then its options as buttons (none when they do not fit). */
export function questionBlocks(q: Question): { blocks: unknown[]; buttons: boolean } {
  const ids = q.options.map((_, i) => encodeAction(q.id, i));
  const buttons = q.options.length > 0 && q.options.length <= ACTIONS_PER_BLOCK && ids.every((id) => id);
  const blocks: unknown[] = [{
    type: "section",
    text: { type: "plain_text", text: questionText(q, buttons) },
  }];
  if (buttons) {
    blocks.push({
      type: "actions",
      elements: q.options.map((text, i) => ({
        type: "button",
        text: { type: "plain_text", text: text.slice(0, BUTTON_TEXT_LIMIT) },
        action_id: ids[i],
        value: String(i),
      })),
    });
  }
  return { blocks, buttons };
}
