import assert from "node:assert/strict";
import { budgetPayload } from "./budget.ts";

Deno.test("budget set: caps become the payload, bad numbers are one line naming the flag", () => {
  assert.deepEqual(budgetPayload({ dailyTokens: "5000", dailyUsd: "2.5" }), {
    dailyTokens: 5000,
    dailyUsd: 2.5,
  });
  assert.deepEqual(budgetPayload({}), {});
  assert.throws(
    () => budgetPayload({ dailyTokens: "1.5" }),
    /--daily-tokens 1.5: expected a whole number of tokens/,
  );
  assert.throws(() => budgetPayload({ dailyUsd: "free" }), /--daily-usd free: expected USD above 0/);
});
