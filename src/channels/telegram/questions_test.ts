import assert from "node:assert/strict";
import type { Question } from "../../questions/mod.ts";
import { parseChoiceId } from "../kit/mod.ts";
import { CALLBACK_DATA_LIMIT, encodeAnswer, questionKeyboard } from "./questions.ts";
import { questionText } from "../kit/mod.ts";

const q = (extra: Partial<Question> = {}): Question => ({
  id: "q_0123456789abcdef0123456789abcdef",
  sessionId: "ses_1" as Question["sessionId"],
  agentGroupId: "g1" as Question["agentGroupId"],
  question: "Ship it?",
  options: ["yes", "no"],
  allowFreeform: false,
  askedAt: "2030-01-01T00:00:00.000Z",
  answer: null,
  answeredBy: null,
  answeredAt: null,
  ...extra,
});

Deno.test("questions: button data round-trips and stays within 64 bytes", () => {
  const data = encodeAnswer(q().id, 15)!;
  assert.ok(new TextEncoder().encode(data).length <= CALLBACK_DATA_LIMIT);
  assert.deepEqual(parseChoiceId(data), { questionId: q().id, index: 15 });
  assert.equal(encodeAnswer("x".repeat(70), 0), undefined);
  for (const bad of ["", "q:", "q::1", "q:abc:", "q:abc:x", "other:abc:1", "q:abc:1234"]) {
    assert.equal(parseChoiceId(bad), undefined, bad);
  }
});

Deno.test("questions: one button per option; free text or oversized ids fall back to a reply", () => {
  const kb = questionKeyboard(q())!;
  assert.deepEqual(kb.inline_keyboard.map((r) => r.map((b) => b.text)), [["yes"], ["no"]]);
  assert.equal(questionKeyboard(q({ options: [] })), undefined);
  assert.equal(questionKeyboard(q({ id: "q".repeat(70) })), undefined);
  assert.equal(questionText(q(), true), "❓ Ship it?");
  assert.match(questionText(q({ options: [], allowFreeform: true }), false), /Reply to this message/);
  assert.match(questionText(q({ id: "q".repeat(70) }), false), /1\. yes\n2\. no/);
});
