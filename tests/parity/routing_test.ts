/**
 * Parity §9.1 #1 and #2, black-box over the host's message path (registry,
 * router, session queues, waker): one message fans out to every wiring of
 * its chat in priority order, each on its own session; and a sender's handle
 * is namespaced by the channel it arrived on, so `evil:owner` cannot borrow
 * another channel's owner grant.
 *
 * @module
 */
import assert from "node:assert/strict";
import { HostFixture } from "../support/host.ts";
import { tempDir } from "../support/mod.ts";

const hello = (senderHandle: string) => ({
  channelType: "slack",
  platformId: "C1",
  senderHandle,
  text: "hello",
});

Deno.test("parity #1: one message fans out to both wirings, in priority order, on distinct sessions", async () => {
  using dir = tempDir();
  await using host = await HostFixture.open(dir.path);
  const r = host.registry;
  r.grantRole({ userId: "slack:alice", role: "owner" });
  for (const id of ["g1", "g2"]) r.putAgentGroup({ id, name: id });
  const chat = r.getOrCreateMessagingGroup({
    channelType: "slack",
    platformId: "C1",
    isGroup: true,
    unknownSenderPolicy: "public",
  });
  // Registered lowest priority first: the order of the outcomes must come from priority, not insertion.
  r.putWiring({
    id: "w2",
    messagingGroupId: chat.id,
    agentGroupId: "g2",
    engageMode: "pattern",
    engagePattern: ".",
    priority: 1,
  });
  r.putWiring({
    id: "w1",
    messagingGroupId: chat.id,
    agentGroupId: "g1",
    engageMode: "pattern",
    engagePattern: ".",
    priority: 2,
  });

  const { outcomes } = await host.router.route(hello("alice"));
  assert.equal(outcomes.length, 2);
  assert.deepEqual(outcomes.map((o) => [o.wiringId, o.agentGroupId, o.engaged, o.kind]), [
    ["w1", "g1", true, "engaged"],
    ["w2", "g2", true, "engaged"],
  ]);
  const [s1, s2] = outcomes.map((o) => o.sessionId);
  assert.ok(s1 && s2, "both outcomes name a session");
  assert.notEqual(s1, s2, "each agent has its own session");
  assert.equal(host.waker.wakes.length, 2, "one wake per engaged wiring");
  assert.deepEqual(new Set(host.waker.wakes), new Set([s1, s2]));
  // Each session's inbound queue holds the message once, as a trigger.
  for (const sessionId of [s1!, s2!]) {
    const inbox = await host.inbox(sessionId);
    assert.deepEqual(inbox.map((m) => [m.content, m.trigger, m.channelType, m.platformId]), [
      ["hello", 1, "slack", "C1"],
    ]);
  }
  assert.equal(host.registry.getSession(s1!).agentGroupId, "g1");
  assert.equal(host.registry.getSession(s2!).agentGroupId, "g2");
});

Deno.test("parity #2: a handle is namespaced by its channel; a spoofed `evil:owner` is denied", async () => {
  using dir = tempDir();
  await using host = await HostFixture.open(dir.path);
  host.registry.grantRole({ userId: "evil:owner", role: "owner" });
  host.registry.grantRole({ userId: "slack:alice", role: "owner" });
  host.registry.putAgentGroup({ id: "g1", name: "g1" });
  const chat = host.registry.getOrCreateMessagingGroup({ channelType: "slack", platformId: "C1" });
  host.registry.putWiring({
    messagingGroupId: chat.id,
    agentGroupId: "g1",
    engageMode: "pattern",
    engagePattern: ".",
  });

  const spoofed = await host.router.route(hello("evil:owner"));
  assert.equal(spoofed.senderId, "slack:evil", "the handle is cut at its first colon and namespaced");
  assert.equal(spoofed.outcomes.length, 1);
  const [denied] = spoofed.outcomes;
  assert.equal(denied.engaged, false);
  assert.equal(denied.sessionId, null);
  assert.equal(denied.kind, "access-denied");
  assert.equal(denied.reason, "access-denied: no-access");
  assert.deepEqual(host.registry.listSessions(), [], "no session was opened for the spoofer");
  assert.deepEqual(host.waker.wakes, []);

  const real = await host.router.route(hello("alice"));
  assert.equal(real.senderId, "slack:alice");
  assert.equal(real.outcomes.length, 1);
  assert.equal(real.outcomes[0].engaged, true);
  assert.ok(real.outcomes[0].sessionId);
  assert.deepEqual(host.waker.wakes, [real.outcomes[0].sessionId]);
});
