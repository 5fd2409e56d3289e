/**
 * Agents' questions as Discord messages: one button per option (a
 * `custom_id` of `q:<question id>:<option index>`, within Discord's 100
 * characters), five to a row, at most 25; more options, or ids that do not
 * fit, fall back to a numbered list answered by replying.
 *
 * @module
 */
import type { APIActionRowComponent, APIButtonComponentWithCustomId } from "@discordjs/core";
import type { Question } from "../../questions/mod.ts";
import { choiceId } from "../kit/mod.ts";

/** Discord's limit on a component's `custom_id`, in characters. */
export const CUSTOM_ID_LIMIT = 100;
/** Buttons in one action row, and rows in one message. */
const ROW_SIZE = 5;
const MAX_ROWS = 5;
/** Discord's limit on a button's label. */
const LABEL_LIMIT = 80;

/** The `custom_id` of option `index` of question `questionId` (the kit's choice id), or undefined when it would not fit. */
export function encodeAnswer(questionId: string, index: number): string | undefined {
  const id = choiceId(questionId, index);
  return id.length <= CUSTOM_ID_LIMIT ? id : undefined;
}

/** The buttons of `q` in action rows, or undefined (no options, too many, or ids that do not fit). */
export function questionComponents(
  q: Question,
): APIActionRowComponent<APIButtonComponentWithCustomId>[] | undefined {
  if (q.options.length === 0 || q.options.length > ROW_SIZE * MAX_ROWS) return undefined;
  const buttons: APIButtonComponentWithCustomId[] = [];
  for (const [i, option] of q.options.entries()) {
    const customId = encodeAnswer(q.id, i);
    if (customId === undefined) return undefined;
    // type 2 = button, style 1 = primary
    buttons.push({ type: 2, style: 1, custom_id: customId, label: option.slice(0, LABEL_LIMIT) });
  }
  const rows: APIActionRowComponent<APIButtonComponentWithCustomId>[] = [];
  for (let i = 0; i < buttons.length; i += ROW_SIZE) {
    rows.push({ type: 1, components: buttons.slice(i, i + ROW_SIZE) });
  }
  return rows;
}
