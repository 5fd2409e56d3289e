import assert from "node:assert/strict";
import { openFakeSandboxPlane } from "../../tests/support/plane.ts";
import { DEMO_AGENT_ID } from "../control_plane/mod.ts";
import { parkedNotice, sandboxStartNotice } from "./mod.ts";

Deno.test("a sandbox that cannot start tells the chat once (rate-limited per session and topic), and parking tells it again", async () => {
  await using t = await openFakeSandboxPlane();
  const { plane } = t;
  t.isolator.failWith = new Error("runsc: executable file not found in $PATH");
  const sent = await plane.webChat.send({ agentGroupId: DEMO_AGENT_ID, text: "hello" });
  const sessionId = sent.outcomes[0].sessionId!;
  const notices = await plane.webChat.drain(sent.conversationId, { waitMs: 5_000 });
  assert.deepEqual(notices.map((n) => n.content), [sandboxStartNotice().text]);
  assert.doesNotMatch(notices[0].content, /runsc|PATH/, "host details stay in the log, not in the chat");

  // The same topic again within the interval is dropped; another topic is not.
  assert.equal(await plane.notices.notify(sessionId, sandboxStartNotice()), false);
  for (let i = 0; i < 5; i++) plane.backoff.failure(sessionId, `launch failed: try ${i}`);
  const after = await plane.webChat.drain(sent.conversationId, { waitMs: 5_000 });
  assert.deepEqual(after.map((n) => n.content), [sandboxStartNotice().text, parkedNotice(sessionId).text]);
  assert.match(after[1].content, new RegExp(`ironclaw session unpark ${sessionId}`));
  assert.deepEqual(plane.notices.recent(sessionId).map((n) => n.topic).sort(), ["parked", "sandbox"]);
});
