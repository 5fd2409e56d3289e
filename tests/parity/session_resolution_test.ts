/**
 * Parity §9.1 #6, through the registry's session resolution (the router's
 * seam): `shared` keeps one session per chat whatever the thread;
 * `per-thread` one per thread, stable across calls and recording its
 * thread; `agent-shared` one per agent across chats; and finding a session
 * never creates one.
 *
 * @module
 */
import assert from "node:assert/strict";
import { HostFixture } from "../support/host.ts";
import { tempDir } from "../support/mod.ts";

Deno.test("parity #6: session resolution under shared, per-thread and agent-shared", async () => {
  using dir = tempDir();
  await using host = await HostFixture.open(dir.path);
  const r = host.registry;
  for (const id of ["g1", "g2"]) r.putAgentGroup({ id, name: id });
  const m1 = r.getOrCreateMessagingGroup({ channelType: "slack", platformId: "C1" }).id;
  const m2 = r.getOrCreateMessagingGroup({ channelType: "slack", platformId: "C2" }).id;

  // shared: the thread does not matter.
  const sharedT1 = r.resolveSession("g1", m1, "t1", "shared");
  const sharedT2 = r.resolveSession("g1", m1, "t2", "shared");
  assert.equal(sharedT1.id, sharedT2.id);

  // per-thread: one session per thread, the same one again for the same thread.
  const t1 = r.resolveSession("g1", m1, "t1", "per-thread");
  const t2 = r.resolveSession("g1", m1, "t2", "per-thread");
  assert.notEqual(t1.id, t2.id);
  assert.equal(r.resolveSession("g1", m1, "t1", "per-thread").id, t1.id);
  assert.equal(t1.threadId, "t1");
  assert.equal(t2.threadId, "t2");
  assert.notEqual(t1.id, sharedT1.id, "modes partition separately");

  // agent-shared: one session per agent, whatever the chat or thread.
  const a = r.resolveSession("g1", m1, "t1", "agent-shared");
  const b = r.resolveSession("g1", m2, "t2", "agent-shared");
  assert.equal(a.id, b.id);
  const other = r.resolveSession("g2", m1, "t1", "agent-shared");
  assert.notEqual(other.id, a.id);

  // find never creates; after resolving, it finds the same session.
  assert.equal(r.findSession("g2", m2, "t9", "per-thread"), undefined);
  assert.equal(r.findSession("g2", m2, "t9", "per-thread"), undefined, "a miss creates nothing");
  const made = r.resolveSession("g2", m2, "t9", "per-thread");
  assert.equal(r.findSession("g2", m2, "t9", "per-thread")?.id, made.id);
});

Deno.test("parity #6 through the router: a per-thread wiring opens one session per thread", async () => {
  using dir = tempDir();
  await using host = await HostFixture.open(dir.path);
  host.registry.grantRole({ userId: "slack:alice", role: "owner" });
  host.registry.putAgentGroup({ id: "g1", name: "g1" });
  const chat = host.registry.getOrCreateMessagingGroup({ channelType: "slack", platformId: "C1" });
  host.registry.putWiring({
    messagingGroupId: chat.id,
    agentGroupId: "g1",
    engageMode: "pattern",
    engagePattern: ".",
    sessionMode: "per-thread",
  });
  const route = async (threadId: string) =>
    (await host.router.route({
      channelType: "slack",
      platformId: "C1",
      senderHandle: "alice",
      text: "hi",
      threadId,
    }))
      .outcomes[0].sessionId;
  const first = await route("t1");
  const second = await route("t2");
  assert.ok(first && second);
  assert.notEqual(first, second);
  assert.equal(await route("t1"), first);
  assert.equal(host.registry.getSession(first).threadId, "t1");
});
