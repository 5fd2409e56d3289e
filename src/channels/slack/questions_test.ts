import assert from "node:assert/strict";
import type { Question } from "../../questions/mod.ts";
import { parseChoiceId } from "../kit/mod.ts";
import { ACTION_ID_LIMIT, encodeAction, questionBlocks } from "./questions.ts";

Deno.test("slack questions: options become buttons whose action ids name the question and option", () => {
  const q = {
    id: "q_123",
    question: "Deploy?",
    options: ["yes", "no"],
    allowFreeform: false,
  } as unknown as Question;
  const { blocks, buttons } = questionBlocks(q);
  assert.equal(buttons, true);
  const actions = blocks[1] as { elements: { action_id: string; text: { text: string } }[] };
  assert.deepEqual(actions.elements.map((e) => [e.text.text, parseChoiceId(e.action_id)]), [
    ["yes", { questionId: "q_123", index: 0 }],
    ["no", { questionId: "q_123", index: 1 }],
  ]);
  assert.equal(parseChoiceId("other:1"), undefined);
  assert.equal(parseChoiceId("q::1"), undefined);
  assert.equal(encodeAction("x".repeat(ACTION_ID_LIMIT), 0), undefined);
  const free = questionBlocks({ ...q, options: [] } as unknown as Question);
  assert.equal(free.buttons, false);
  assert.equal(free.blocks.length, 1);
});
