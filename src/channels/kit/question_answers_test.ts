import assert from "node:assert/strict";
import type { Question } from "../../questions/mod.ts";
import { NotFoundError } from "../../state/mod.ts";
import { pressedOption, waitingQuestion } from "./question_answers.ts";

const questions: Record<string, Partial<Question>> = {
  q_open: { id: "q_open", options: ["yes", "no"], answeredAt: null },
  q_done: { id: "q_done", options: ["yes", "no"], answeredAt: "2026-12-07T19:00:00.000Z" },
};
const desk = {
  get: (id: string) => {
    if (!questions[id]) throw new NotFoundError("question", id);
    return questions[id] as Question;
  },
};

Deno.test("question answers: a message answers only a question still waiting; a press picks an option or says why not", () => {
  assert.equal(waitingQuestion(desk, "q_open")?.id, "q_open");
  assert.equal(waitingQuestion(desk, "q_done"), undefined, "answered already: the message is chat");
  assert.equal(waitingQuestion(desk, "q_gone"), undefined);
  assert.equal(waitingQuestion(desk, undefined), undefined);

  const picked = pressedOption(desk, { questionId: "q_open", index: 1 });
  assert.ok(typeof picked !== "string");
  assert.equal(picked.option, "no");
  assert.equal(pressedOption(desk, { questionId: "q_open", index: 2 }), "That option does not exist.");
  assert.equal(pressedOption(desk, { questionId: "q_gone", index: 0 }), "That question no longer exists.");
});
