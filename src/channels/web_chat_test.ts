import assert from "node:assert/strict";
import { tempDir } from "../../tests/support/mod.ts";
import { HostFixture } from "../../tests/support/host.ts";
import { LAZY_MARK_MS } from "../delivery/mod.ts";
import { NotFoundError } from "../state/mod.ts";
import { WebChat, WebChatFullError } from "./web_chat.ts";

/** Drains the conversation and acknowledges what came, as a client that shows it does. */
async function take(web: WebChat, conversationId: string) {
  const items = await web.drain(conversationId);
  if (items.length) web.acknowledge(conversationId, items.at(-1)!.seq);
  return items;
}

/** A host with agent `demo`, and a web chat of its own that buffers two replies. */
async function open(dir: string) {
  const host = await HostFixture.open(dir);
  const web = new WebChat({ registry: host.registry, router: host.router, state: host.state, capacity: 2 });
  host.registry.putAgentGroup({ id: "demo", name: "Demo" });
  return { host, web };
}

Deno.test("web chat: a console message reaches the agent and its reply is drained once", async () => {
  using dir = tempDir();
  const { host } = await open(dir.path);
  await using _ = host;
  const { webChat: web, delivery } = host;
  host.registry.addMember("web:console", "demo");
  const sent = await web.send({ agentGroupId: "demo", text: "hello agent" });
  assert.equal(sent.conversationId, "demo");
  assert.equal(sent.engaged, true);
  const sessionId = sent.outcomes[0].sessionId!;
  using agent = await host.agent(sessionId);
  const [m] = agent.inbound.pendingMessages();
  assert.deepEqual([m.channelType, m.platformId, m.content], ["web", "demo", "hello agent"]);
  agent.outbound.writeMessageOut({ id: "r1", kind: "chat", inReplyTo: m.id, content: "hi human" });
  await delivery.deliverAll();
  assert.deepEqual((await take(web, "demo")).map((i) => [i.id, i.conversationId, i.content]), [[
    "r1",
    "demo",
    "hi human",
  ]]);
  assert.deepEqual(await take(web, "demo"), []);
  await delivery.deliverAll();
  assert.deepEqual(await take(web, "demo"), [], "a delivered reply is not buffered again");
  // A second send reuses the conversation and its wiring.
  const again = await web.send({ agentGroupId: "demo", text: "more" });
  assert.equal(again.outcomes.length, 1);
  assert.equal(again.outcomes[0].sessionId, sessionId);
  // A wiring deleted meanwhile is made again at the next send (the conversation is not trusted as known).
  host.registry.deleteWiring(again.outcomes[0].wiringId);
  const rewired = await web.send({ agentGroupId: "demo", text: "still there?" });
  assert.deepEqual(rewired.outcomes.map((o) => [o.kind, o.sessionId]), [["engaged", sessionId]]);
});

Deno.test("web chat: strangers are refused, unknown agents are not found, buffers are capped", async () => {
  using dir = tempDir();
  const { host, web } = await open(dir.path);
  await using _ = host;
  const refused = await web.send({ agentGroupId: "demo", text: "hi", senderHandle: "stranger" });
  assert.equal(refused.engaged, false);
  assert.equal(refused.outcomes[0].kind, "access-denied");
  await assert.rejects(web.send({ agentGroupId: "nobody", text: "hi" }), NotFoundError);
  const base = {
    sessionId: "ses_x",
    agentGroupId: "demo",
    kind: "chat",
    channelType: "web",
    platformId: "c1",
    threadId: null,
    inReplyTo: null,
    timestamp: "2030-01-01T00:00:00.000Z",
  } as const;
  const reply = (id: string) =>
    web.deliver({
      ...base,
      id,
      sessionId: base.sessionId as never,
      agentGroupId: "demo" as never,
      content: id,
    });
  await reply("a");
  await reply("b");
  // Full: refused (delivery retries it later), nothing dropped; a redelivery of a taken reply is still fine.
  await assert.rejects(reply("c"), WebChatFullError);
  assert.equal(await reply("b"), "b");
  assert.deepEqual((await take(web, "c1")).map((i) => i.id), ["a", "b"]);
  await reply("c");
  assert.deepEqual((await take(web, "c1")).map((i) => i.id), ["c"]);
});

Deno.test("web chat: the outbox survives a reopen, and a redelivered reply is never shown twice", async () => {
  using dir = tempDir();
  const base = {
    sessionId: "ses_x" as never,
    agentGroupId: "demo" as never,
    kind: "chat",
    channelType: "web",
    platformId: "c1",
    threadId: "t1",
    inReplyTo: null,
    timestamp: "2030-01-01T00:00:00.000Z",
  } as const;
  {
    const host = await HostFixture.open(dir.path);
    await using _ = host;
    const web = new WebChat({ registry: host.registry, router: host.router, state: host.state });
    await web.deliver({ ...base, id: "r1", content: "one" });
    await web.deliver({ ...base, id: "r2", content: "two" });
    await web.deliver({ ...base, id: "r1", content: "one" });
  }
  {
    const host = await HostFixture.open(dir.path);
    await using _ = host;
    const web = new WebChat({ registry: host.registry, router: host.router, state: host.state });
    assert.deepEqual((await take(web, "c1")).map((i) => [i.id, i.conversationId, i.threadId, i.content]), [
      ["r1", "c1", "t1", "one"],
      ["r2", "c1", "t1", "two"],
    ]);
    // Redelivered after it was drained (a crash before delivery marked it): ignored.
    await web.deliver({ ...base, id: "r2", content: "two" });
    assert.deepEqual(await take(web, "c1"), []);
    assert.deepEqual(await take(web, "other"), []);
  }
});

Deno.test("web chat: a reply's delivered mark is committed lazily; after a crash before it, the reply shows once", async () => {
  using dir = tempDir();
  await using first = await HostFixture.open(dir.path);
  first.registry.putAgentGroup({ id: "demo", name: "Demo" });
  first.registry.addMember("web:console", "demo");
  const sessionId = (await first.webChat.send({ agentGroupId: "demo", text: "hello" })).outcomes[0]
    .sessionId!;
  using agent = await first.agent(sessionId);
  const [hello] = agent.inbound.pendingMessages();
  agent.outbound.writeMessageOut({ id: "r1", kind: "chat", inReplyTo: hello.id, content: "one" });
  agent.outbound.markCompleted([hello.id]);
  await first.delivery.deliverAll();
  const marks = async (host: HostFixture) =>
    [...(await host.queues.inboundWriter(sessionId)).deliveredIds()].sort();
  assert.deepEqual(await marks(first), [], "the mark waits");

  // The host dies here: a new one over the same files has only what was committed, and delivers r1 again.
  await using second = await HostFixture.open(dir.path);
  await second.delivery.deliverAll();
  assert.deepEqual((await take(second.webChat, "demo")).map((i) => i.content), ["one"], "shown once");
  await second.delivery.stop();
  assert.deepEqual(await marks(second), ["r1"], "stopping commits what waits");
  assert.equal(await second.queues.hasOpenWork(sessionId), false, "the ack is mirrored with the mark");

  agent.outbound.writeMessageOut({ id: "r2", kind: "chat", inReplyTo: hello.id, content: "two" });
  await first.delivery.deliverAll();
  await new Promise((resolve) => setTimeout(resolve, LAZY_MARK_MS + 300));
  assert.deepEqual(await marks(first), ["r1", "r2"], `committed within ${LAZY_MARK_MS} ms`);
});
