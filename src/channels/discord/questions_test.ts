import assert from "node:assert/strict";
import type { Question } from "../../questions/mod.ts";
import { parseChoiceId } from "../kit/mod.ts";
import { CUSTOM_ID_LIMIT, encodeAnswer, questionComponents } from "./questions.ts";

const question = (
  options: string[],
  id = "q_01J9ZZZZZZZZZZZZZZZZZZZZZZ",
) => ({ id, options } as unknown as Question);

Deno.test("discord questions: one button per option, five to a row, ids round-trip within 100 characters", () => {
  const rows = questionComponents(question(["a", "b", "c", "d", "e", "f", "g"]))!;
  assert.deepEqual(rows.map((r) => r.components.length), [5, 2]);
  for (const [i, b] of rows.flatMap((r) => r.components).entries()) {
    assert.ok(b.custom_id.length <= CUSTOM_ID_LIMIT);
    assert.deepEqual(parseChoiceId(b.custom_id), { questionId: "q_01J9ZZZZZZZZZZZZZZZZZZZZZZ", index: i });
  }
  assert.equal(questionComponents(question([])), undefined, "free text: no buttons");
  assert.equal(
    questionComponents(question(Array.from({ length: 26 }, (_, i) => `${i}`))),
    undefined,
    "over 25",
  );
  assert.equal(encodeAnswer("x".repeat(100), 0), undefined);
  assert.equal(parseChoiceId("other:thing"), undefined);
  assert.equal(parseChoiceId("q::1"), undefined);
  assert.equal(parseChoiceId("q:abc:x"), undefined);
});
