/**
 * Parity §9.1 #3–#5, black-box over the router: when a message engages its
 * agent under each engage mode (`pattern`, `mention`, `mention-sticky`),
 * what a message that does not engage leaves behind (nothing: no session, no
 * queue row, no wake, under the drop policy), and that a sticky conversation
 * carries on in the session its mention opened.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { EngageMode } from "../../contract/enums.ts";
import { HostFixture } from "../support/host.ts";
import type { InboundEvent } from "../../src/router/mod.ts";
import { tempDir } from "../support/mod.ts";

/** A host with slack:alice as owner and slack/C1 wired to g1 under `mode` (drop policy). */
async function wired(dir: string, mode: EngageMode, pattern = "") {
  const host = await HostFixture.open(dir);
  host.registry.grantRole({ userId: "slack:alice", role: "owner" });
  host.registry.putAgentGroup({ id: "g1", name: "g1" });
  const chat = host.registry.getOrCreateMessagingGroup({
    channelType: "slack",
    platformId: "C1",
    isGroup: true,
  });
  host.registry.putWiring({
    messagingGroupId: chat.id,
    agentGroupId: "g1",
    engageMode: mode,
    engagePattern: pattern,
    ignoredMessagePolicy: "drop",
  });
  return host;
}

const say = (text: string, mentioned = false): InboundEvent => ({
  channelType: "slack",
  platformId: "C1",
  senderHandle: "alice",
  text,
  mentioned,
});

Deno.test("parity #3: pattern mode engages on a match and drops the rest", async () => {
  using dir = tempDir();
  await using host = await wired(dir.path, "pattern", "deploy");
  const hit = await host.router.route(say("please deploy now"));
  assert.equal(hit.outcomes[0].engaged, true);
  assert.ok(hit.outcomes[0].sessionId);
  const miss = await host.router.route(say("hello there"));
  assert.equal(miss.outcomes[0].engaged, false);
  assert.equal(miss.outcomes[0].sessionId, null);
  assert.equal(miss.outcomes[0].kind, "not-engaged");
  assert.equal(host.waker.wakes.length, 1);
  using agent = await host.agent(hit.outcomes[0].sessionId!);
  assert.deepEqual(agent.inbound.pendingMessages().map((m) => m.content), ["please deploy now"]);
});

Deno.test("parity #4: mention mode engages only when mentioned", async () => {
  using dir = tempDir();
  await using host = await wired(dir.path, "mention");
  const mentioned = await host.router.route(say("hey @agent", true));
  assert.equal(mentioned.outcomes[0].engaged, true);
  assert.ok(mentioned.outcomes[0].sessionId);
  const chatter = await host.router.route(say("just chatter", false));
  assert.equal(chatter.outcomes[0].engaged, false);
  assert.equal(chatter.outcomes[0].sessionId, null);
  assert.equal(host.waker.wakes.length, 1);
  using agent = await host.agent(mentioned.outcomes[0].sessionId!);
  assert.deepEqual(agent.inbound.pendingMessages().map((m) => m.content), ["hey @agent"]);
});

Deno.test("parity #5: mention-sticky needs a mention to open, then follows the conversation", async () => {
  using dir = tempDir();
  await using host = await wired(dir.path, "mention-sticky");
  const before = await host.router.route(say("anyone around?"));
  assert.equal(before.outcomes[0].engaged, false);
  assert.equal(before.outcomes[0].sessionId, null);
  assert.deepEqual(host.registry.listSessions(), [], "no session before the first mention");

  const opened = await host.router.route(say("@agent help me", true));
  assert.equal(opened.outcomes[0].engaged, true);
  const session = opened.outcomes[0].sessionId;
  assert.ok(session);

  const followUp = await host.router.route(say("and one more thing"));
  assert.equal(followUp.outcomes[0].engaged, true, "the open conversation keeps the agent engaged");
  assert.equal(followUp.outcomes[0].sessionId, session, "on the same session");
  assert.equal(host.waker.wakes.length, 2);
  assert.equal(host.registry.listSessions().length, 1);
  using agent = await host.agent(session);
  assert.deepEqual(agent.inbound.pendingMessages().map((m) => m.content), [
    "@agent help me",
    "and one more thing",
  ]);
});
