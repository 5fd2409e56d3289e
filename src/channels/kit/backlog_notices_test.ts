import assert from "node:assert/strict";
import { BacklogNotices } from "./backlog_notices.ts";

Deno.test("a conversation is told once per shedding episode; a notice that did not go out is tried again", async () => {
  const notices = new BacklogNotices();
  const sent: string[] = [];
  const tell = (to: string, ok = true) => () => Promise.resolve(ok && sent.push(to) > 0);
  assert.equal(notices.refused("s1", "chat-a", tell("chat-a")), true);
  assert.equal(notices.refused("s1", "chat-a", tell("chat-a")), false, "told already in this episode");
  assert.equal(notices.refused("s1", "chat-b", tell("chat-b")), true, "another conversation of the session");
  assert.equal(notices.refused("s2", "chat-c", tell("chat-c", false)), true);
  await notices.settled();
  assert.equal(notices.refused("s2", "chat-c", tell("chat-c")), true, "the failed notice is tried again");
  notices.accepted("s1");
  assert.equal(notices.refused("s1", "chat-a", tell("chat-a")), true, "a new episode tells again");
  await notices.settled();
  assert.deepEqual(sent, ["chat-a", "chat-b", "chat-c", "chat-a"]);
});
