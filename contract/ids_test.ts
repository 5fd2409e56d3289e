import assert from "node:assert/strict";
import { isSafeId, newChangeId, newSessionId, SessionId, UserId } from "./ids.ts";

Deno.test("unsafe ids are refused", () => {
  for (
    const id of ["", ".", "..", "../x", "a/b", "a\\b", "x..y", ".hidden", "a\0b", "a b", "x".repeat(129)]
  ) {
    assert.equal(isSafeId(id), false, JSON.stringify(id));
    assert.equal(SessionId.safeParse(id).success, false, JSON.stringify(id));
  }
  for (const id of ["ses_0123456789abcdef", "research-bot", "a.b_c-d", "X"]) assert.ok(isSafeId(id), id);
});

Deno.test("generated ids have their documented shapes", () => {
  assert.match(newSessionId(), /^ses_[0-9a-f]{16}$/);
  assert.match(newChangeId(), /^chg_[0-9a-f]{32}$/);
  assert.ok(SessionId.safeParse(newSessionId()).success);
});

Deno.test("user ids are namespaced and plain", () => {
  assert.ok(UserId.safeParse("telegram:12345").success);
  assert.ok(UserId.safeParse("webchat:console").success);
  for (const bad of ["alice", ":alice", "slack:", "slack:a b", "slack:a\nb", "Slack:x"]) {
    assert.equal(UserId.safeParse(bad).success, false, bad);
  }
});
