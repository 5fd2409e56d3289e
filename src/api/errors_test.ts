import assert from "node:assert/strict";
import { openTestApi } from "../../tests/support/api.ts";
import { oneLine } from "./errors.ts";

Deno.test("oneLine collapses every line break, NEL included, and escapes other control characters", () => {
  assert.equal(oneLine(" a\r\n\tb\u2028c\u0085d\v\fe "), "a b c d e");
  assert.equal(oneLine("x\u001b[2Jy\u0007\u009b\u007f"), "x\\u001b[2Jy\\u0007\\u009b\\u007f");
  assert.equal(oneLine("plain: ok"), "plain: ok");
});

// Found by tests/fuzz/api_fuzz_test.ts: an unknown key holding NEL (U+0085) came back in the error
// as is, so the "one line" answer held a line break, and other control characters were echoed raw.
Deno.test("an error naming a key with control characters is one line without them", async () => {
  await using api = await openTestApi();
  for (const key of ["\u0085__proto__", "so\u0007ul", "\u001b]0;title\u0007"]) {
    const answer = await api.call("POST", "/v1/registry/members/remove", {
      body: { userId: "slack:alice", agentGroupId: "demo", [key]: null },
    });
    assert.equal(answer.status, 400);
    assert.match(answer.body.error, /: unknown field$/);
    assert.doesNotMatch(answer.body.error, /[\p{Cc}\u2028\u2029]/u, JSON.stringify(answer.body.error));
  }
});
