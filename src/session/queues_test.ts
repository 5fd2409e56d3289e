import assert from "node:assert/strict";
import type { SessionId } from "../../contract/ids.ts";
import { openInboundReader } from "../../contract/queue/sandbox.ts";
import { sessionKeyId } from "../keys/mod.ts";
import { NotFoundError } from "../state/mod.ts";
import { fileContains, LIBRARY, tempDir } from "../../tests/support/mod.ts";
import { HostFixture } from "../../tests/support/host.ts";

Deno.test("a session's queues are provisioned on first use, keyed, seeded and cached", async () => {
  using dir = tempDir();
  await using host = await HostFixture.open(dir.path);
  const { chat } = host.seedChat("slack", "C1");
  host.registry.putAgentGroup({ id: "helper", name: "Helper bot" });
  host.registry.addDestination({
    agentGroupId: "g1",
    channelType: "slack",
    platformId: "C9",
    displayName: "ops",
  });
  host.registry.addDestination({ agentGroupId: "g1", channelType: "agent", platformId: "helper" });
  const session = host.registry.resolveSession("g1", chat.id, "T7", "per-thread");
  host.tasks.create({
    id: "t1",
    sessionId: session.id,
    prompt: "water the plants",
    runAt: "2030-01-01T00:00:00Z",
  });

  assert.equal(await host.keys.get(sessionKeyId(session.id)), undefined, "no key before first use");
  const writer = await host.queues.inboundWriter(session.id);
  assert.strictEqual(await host.queues.inboundWriter(session.id), writer, "handles are cached");
  const key = await host.keys.get(sessionKeyId(session.id));
  assert.ok(key, "the custodian holds the session key");
  const paths = host.queues.paths(session.id);
  assert.equal(paths.inbound, `${dir.path}/sessions/${session.id}/in/inbound.db`);

  using agent = await host.agent(session.id);
  assert.deepEqual(agent.inbound.sessionRouting(), {
    channelType: "slack",
    platformId: "C1",
    threadId: "T7",
  });
  assert.deepEqual(agent.inbound.destinations(), [
    {
      name: "helper",
      displayName: "Helper bot",
      type: "agent",
      channelType: null,
      platformId: null,
      agentGroupId: "helper",
    },
    {
      name: "slack:C9",
      displayName: "ops",
      type: "channel",
      channelType: "slack",
      platformId: "C9",
      agentGroupId: null,
    },
  ]);
  assert.deepEqual(agent.inbound.tasks().map((t) => [t.id, t.prompt]), [["t1", "water the plants"]]);

  writer.writeMessageIn({ id: "m1", kind: "chat", content: "top-secret-hello" });
  assert.ok(!fileContains(paths.inbound, "top-secret-hello"), "the queue file holds no plaintext");
});

Deno.test("destinations are re-synced into open sessions on refresh", async () => {
  using dir = tempDir();
  await using host = await HostFixture.open(dir.path);
  const { chat } = host.seedChat();
  const session = host.registry.resolveSession("g1", chat.id, null, "shared");
  using agent = await host.agent(session.id);
  assert.deepEqual(agent.inbound.destinations(), []);
  host.registry.addDestination({ agentGroupId: "g1", channelType: "slack", platformId: "C2" });
  await host.queues.refreshDestinations("g1");
  assert.deepEqual(agent.inbound.destinations().map((d) => d.name), ["slack:C2"]);
});

Deno.test("statuses only move forward, and the agent stops seeing finished rows", async () => {
  using dir = tempDir();
  await using host = await HostFixture.open(dir.path);
  const { chat } = host.seedChat();
  const session = host.registry.resolveSession("g1", chat.id, null, "shared");
  const writer = await host.queues.inboundWriter(session.id);
  writer.writeMessagesIn([
    { id: "a", kind: "chat", content: "1" },
    { id: "b", kind: "chat", content: "2" },
  ]);
  assert.equal(
    await host.queues.advanceStatuses(session.id, [
      { messageId: "a", status: "completed" },
      { messageId: "b", status: "processing" },
    ]),
    2,
  );
  // A late "processing" ack never moves a completed row back.
  assert.equal(
    await host.queues.advanceStatuses(session.id, [{ messageId: "a", status: "processing" }]),
    0,
  );
  using agent = await host.agent(session.id);
  assert.deepEqual(agent.inbound.pendingMessages().map((m) => m.id), []);
});

Deno.test("the key and the rows survive a restart on the same state directory", async () => {
  using dir = tempDir();
  let sessionId: SessionId;
  {
    await using host = await HostFixture.open(dir.path);
    const { chat } = host.seedChat();
    sessionId = host.registry.resolveSession("g1", chat.id, null, "shared").id;
    (await host.queues.inboundWriter(sessionId)).writeMessageIn({ id: "kept", kind: "chat", content: "hi" });
  }
  await using host = await HostFixture.open(dir.path);
  const key = await host.queues.sessionKey(sessionId);
  using reader = openInboundReader(host.queues.paths(sessionId).inbound, { library: LIBRARY, key });
  assert.deepEqual(reader.pendingMessages().map((m) => m.id), ["kept"]);
});

Deno.test("an unknown session is refused and not cached", async () => {
  using dir = tempDir();
  await using host = await HostFixture.open(dir.path);
  const ghost = "ses_0000000000000000" as SessionId;
  await assert.rejects(host.queues.inboundWriter(ghost), NotFoundError);
  await assert.rejects(host.queues.outboundReader(ghost), NotFoundError);
  assert.equal(host.queues.isProvisioned(ghost), false);
  await assert.rejects(host.queues.inboundWriter("../x" as SessionId));
});
