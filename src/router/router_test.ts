import assert from "node:assert/strict";
import { LIBRARY, tempDir } from "../../tests/support/mod.ts";
import { HostFixture } from "../../tests/support/host.ts";
import {
  BacklogGate,
  type QueueDamagedError,
  SessionBacklogFullError,
  SessionQueueStore,
} from "../session/mod.ts";
import { EngageModeError, evaluateEngage } from "./engage.ts";
import { Router } from "./router.ts";

const event = (text: string, extra: Record<string, unknown> = {}) => ({
  channelType: "slack",
  platformId: "C1",
  senderHandle: "alice",
  text,
  ...extra,
});

Deno.test("fan-out: one engaged outcome per wiring, in priority order, on distinct sessions", async () => {
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
  r.putWiring({
    messagingGroupId: chat.id,
    agentGroupId: "g2",
    engageMode: "pattern",
    engagePattern: ".",
    priority: 1,
  });
  r.putWiring({
    messagingGroupId: chat.id,
    agentGroupId: "g1",
    engageMode: "pattern",
    engagePattern: ".",
    priority: 2,
  });

  const { outcomes } = await host.router.route(event("hello"));
  assert.deepEqual(outcomes.map((o) => [o.agentGroupId, o.engaged, o.reason]), [
    ["g1", true, "engaged (trigger=1)"],
    ["g2", true, "engaged (trigger=1)"],
  ]);
  assert.ok(
    outcomes[0].sessionId && outcomes[1].sessionId && outcomes[0].sessionId !== outcomes[1].sessionId,
  );
  assert.deepEqual(host.waker.wakes, [outcomes[0].sessionId, outcomes[1].sessionId]);
  const [row] = await host.inbox(outcomes[0].sessionId!);
  assert.deepEqual([row.kind, row.trigger, row.content, row.channelType, row.platformId, row.seq % 2], [
    "chat",
    1,
    "hello",
    "slack",
    "C1",
    0,
  ]);
});

Deno.test("a sender cannot smuggle another namespace into their id", async () => {
  using dir = tempDir();
  await using host = await HostFixture.open(dir.path);
  host.registry.grantRole({ userId: "evil:owner", role: "owner" });
  host.seedChat("slack", "C1");
  const spoofed = await host.router.route(event("hi", { senderHandle: "evil:owner" }));
  assert.equal(spoofed.senderId, "slack:evil");
  assert.deepEqual(spoofed.outcomes.map((o) => [o.engaged, o.sessionId, o.reason]), [
    [false, null, "access-denied: no-access"],
  ]);
  const real = await host.router.route(event("hi"));
  assert.equal(real.outcomes[0].engaged, true);
  const invalid = await host.router.route(event("hi", { senderHandle: "   " }));
  assert.equal(invalid.outcomes[0].kind, "invalid-sender");
  assert.equal(host.waker.wakes.length, 1);
});

Deno.test("engage modes: pattern, mention and mention-sticky", async (t) => {
  using dir = tempDir();
  await using host = await HostFixture.open(dir.path);
  const r = host.registry;
  r.grantRole({ userId: "slack:alice", role: "owner" });
  r.putAgentGroup({ id: "g1", name: "g1" });
  const wire = (
    platformId: string,
    engageMode: "pattern" | "mention" | "mention-sticky",
    engagePattern = "",
  ) => {
    const chat = r.getOrCreateMessagingGroup({ channelType: "slack", platformId });
    r.putWiring({ messagingGroupId: chat.id, agentGroupId: "g1", engageMode, engagePattern });
  };
  wire("P", "pattern", "deploy");
  wire("M", "mention");
  wire("S", "mention-sticky");

  await t.step("pattern", async () => {
    const yes = await host.router.route(event("please deploy now", { platformId: "P" }));
    const no = await host.router.route(event("hello there", { platformId: "P" }));
    assert.equal(yes.outcomes[0].engaged, true);
    assert.deepEqual([no.outcomes[0].engaged, no.outcomes[0].sessionId, no.outcomes[0].reason], [
      false,
      null,
      "not-engaged: dropped",
    ]);
  });
  await t.step("mention", async () => {
    const yes = await host.router.route(event("hey @agent", { platformId: "M", mentioned: true }));
    const no = await host.router.route(event("just chatter", { platformId: "M" }));
    assert.equal(yes.outcomes[0].engaged, true);
    assert.deepEqual([no.outcomes[0].engaged, no.outcomes[0].sessionId], [false, null]);
  });
  await t.step("mention-sticky", async () => {
    const before = await host.router.route(event("anyone?", { platformId: "S" }));
    assert.deepEqual([before.outcomes[0].engaged, before.outcomes[0].sessionId], [false, null]);
    const opened = await host.router.route(event("@agent help", { platformId: "S", mentioned: true }));
    const follow = await host.router.route(event("and also this", { platformId: "S" }));
    assert.equal(opened.outcomes[0].engaged, true);
    assert.equal(follow.outcomes[0].engaged, true);
    assert.equal(follow.outcomes[0].sessionId, opened.outcomes[0].sessionId);
  });
  assert.equal(host.waker.wakes.length, 4);
});

Deno.test("accumulate writes trigger 0 without a wake; drop writes nothing", async () => {
  using dir = tempDir();
  await using host = await HostFixture.open(dir.path);
  const r = host.registry;
  r.grantRole({ userId: "slack:alice", role: "owner" });
  r.putAgentGroup({ id: "g1", name: "g1" });
  const chat = r.getOrCreateMessagingGroup({ channelType: "slack", platformId: "C1" });
  r.putWiring({
    messagingGroupId: chat.id,
    agentGroupId: "g1",
    engageMode: "mention",
    ignoredMessagePolicy: "accumulate",
    sessionMode: "per-thread",
  });
  const quiet = await host.router.route(event("background", { threadId: "t1" }));
  assert.deepEqual([quiet.outcomes[0].engaged, quiet.outcomes[0].reason], [false, "accumulated (trigger=0)"]);
  assert.equal(host.waker.wakes.length, 0);
  const loud = await host.router.route(event("@agent now", { threadId: "t1", mentioned: true }));
  assert.equal(loud.outcomes[0].sessionId, quiet.outcomes[0].sessionId);
  assert.equal(host.registry.getSession(loud.outcomes[0].sessionId!).threadId, "t1");
  assert.deepEqual((await host.inbox(loud.outcomes[0].sessionId!)).map((m) => [m.content, m.trigger]), [
    ["background", 0],
    ["@agent now", 1],
  ]);
  const other = await host.router.route(event("@agent", { threadId: "t2", mentioned: true }));
  assert.notEqual(other.outcomes[0].sessionId, loud.outcomes[0].sessionId);
});

Deno.test("unknown senders: strict drops, public engages unless the wiring wants known senders", async () => {
  using dir = tempDir();
  await using host = await HostFixture.open(dir.path);
  const r = host.registry;
  r.putAgentGroup({ id: "g1", name: "g1" });
  const strict = r.getOrCreateMessagingGroup({ channelType: "slack", platformId: "STRICT" });
  const open = r.getOrCreateMessagingGroup({
    channelType: "slack",
    platformId: "OPEN",
    unknownSenderPolicy: "public",
  });
  r.putWiring({
    messagingGroupId: strict.id,
    agentGroupId: "g1",
    engageMode: "pattern",
    engagePattern: ".",
    senderScope: "all",
  });
  const all = r.putWiring({
    messagingGroupId: open.id,
    agentGroupId: "g1",
    engageMode: "pattern",
    engagePattern: ".",
    senderScope: "all",
  });

  const dropped = await host.router.route(event("hi", { platformId: "STRICT", senderHandle: "mallory" }));
  assert.deepEqual([dropped.outcomes[0].kind, dropped.outcomes[0].sessionId], ["access-denied", null]);
  const engaged = await host.router.route(event("hi", { platformId: "OPEN", senderHandle: "mallory" }));
  assert.equal(engaged.outcomes[0].kind, "engaged");
  r.putWiring({ ...all, senderScope: "known" });
  const scoped = await host.router.route(event("hi", { platformId: "OPEN", senderHandle: "mallory" }));
  assert.deepEqual([scoped.outcomes[0].kind, scoped.outcomes[0].reason], [
    "sender-scope",
    "sender-scope: unknown sender for known-only wiring",
  ]);
  assert.equal(host.waker.wakes.length, 1);
  assert.equal(
    host.metrics.render().includes('ironclaw_router_outcomes_total{kind="access-denied"} 1'),
    true,
  );
});

Deno.test("request_approval files one access request per sender; approval lets them in", async () => {
  using dir = tempDir();
  await using host = await HostFixture.open(dir.path);
  const r = host.registry;
  r.putAgentGroup({ id: "g1", name: "g1" });
  const chat = r.getOrCreateMessagingGroup({
    channelType: "slack",
    platformId: "C1",
    unknownSenderPolicy: "request_approval",
  });
  r.putWiring({ messagingGroupId: chat.id, agentGroupId: "g1", engageMode: "mention" });

  const chatter = await host.router.route(event("no mention", { senderHandle: "bob" }));
  assert.equal(chatter.outcomes[0].kind, "access-denied");
  assert.equal(host.gateway.pending().length, 0, "chatter that would not engage files nothing");

  const first = await host.router.route(event("@agent let me in", { senderHandle: "bob", mentioned: true }));
  const again = await host.router.route(event("@agent please", { senderHandle: "bob", mentioned: true }));
  assert.equal(first.outcomes[0].kind, "approval-requested");
  assert.equal(first.outcomes[0].sessionId, null, "nothing is written before approval");
  assert.equal(again.outcomes[0].changeId, first.outcomes[0].changeId);
  const pending = host.gateway.pending();
  assert.equal(pending.length, 1);
  assert.deepEqual(
    [pending[0].request.kind, pending[0].request.agentGroupId, pending[0].request.after],
    ["permissions", "g1", { addMembers: ["slack:bob"] }],
  );
  assert.equal(host.waker.wakes.length, 0);

  await host.gateway.decide(first.outcomes[0].changeId!, "approve", "web:operator");
  assert.deepEqual(r.listMembers("g1"), ["slack:bob"]);
  const admitted = await host.router.route(event("@agent thanks", { senderHandle: "bob", mentioned: true }));
  assert.equal(admitted.outcomes[0].kind, "engaged");
});

Deno.test("a failed wake is reported, and the message stays queued", async () => {
  using dir = tempDir();
  await using host = await HostFixture.open(dir.path);
  host.seedChat("slack", "C1");
  host.waker.failWith = new Error("runtime missing");
  const { outcomes } = await host.router.route(event("hello"));
  assert.deepEqual([outcomes[0].engaged, outcomes[0].wakeError], [true, "runtime missing"]);
  assert.deepEqual((await host.inbox(outcomes[0].sessionId!)).map((m) => m.content), ["hello"]);
});

Deno.test("engage evaluation table", () => {
  const base = { pattern: "", text: "anything", mentioned: false, hasSession: () => false };
  assert.equal(evaluateEngage({ ...base, mode: "pattern", pattern: "." }), true);
  assert.equal(evaluateEngage({ ...base, mode: "pattern", pattern: "^any" }), true);
  assert.equal(evaluateEngage({ ...base, mode: "pattern", pattern: "([" }), false);
  assert.equal(evaluateEngage({ ...base, mode: "pattern", pattern: "" }), false);
  assert.equal(
    evaluateEngage({ ...base, mode: "pattern", pattern: "z$", text: "a".repeat(70_000) + "z" }),
    false,
  );
  assert.equal(evaluateEngage({ ...base, mode: "mention", mentioned: true }), true);
  assert.equal(evaluateEngage({ ...base, mode: "mention-sticky", hasSession: () => true }), true);
  assert.throws(() => evaluateEngage({ ...base, mode: "telepathy" }), EngageModeError);
});

/** Slack chat C1 (a group, alice its owner) wired to agents g1 (priority 2) and g2, both engaging on anything. */
function wireTwoAgents(host: HostFixture): void {
  const r = host.registry;
  r.grantRole({ userId: "slack:alice", role: "owner" });
  const chat = r.getOrCreateMessagingGroup({ channelType: "slack", platformId: "C1", isGroup: true });
  for (const [id, priority] of [["g1", 2], ["g2", 1]] as const) {
    r.putAgentGroup({ id, name: id });
    r.putWiring({
      messagingGroupId: chat.id,
      agentGroupId: id,
      engageMode: "pattern",
      engagePattern: ".",
      priority,
    });
  }
}

Deno.test("a damaged queue file: that wiring's outcome names it and reports it, the other wirings route on", async () => {
  using dir = tempDir();
  await using host = await HostFixture.open(dir.path);
  wireTwoAgents(host);
  const first = await host.router.route(event("hello"));
  const [broken, healthy] = first.outcomes.map((o) => o.sessionId!);
  const file = await Deno.open(host.queues.paths(broken as never).inbound, { write: true });
  await file.write(new Uint8Array(8192).fill(0x5a));
  file.close();

  const reported: QueueDamagedError[] = [];
  await using queues = Object.assign(
    new SessionQueueStore({
      root: `${dir.path}/sessions`,
      library: LIBRARY,
      keys: host.keys,
      registry: host.registry,
      onDamaged: (err) => reported.push(err),
    }),
    { [Symbol.asyncDispose]: () => queues.close() },
  );
  const router = new Router({
    registry: host.registry,
    waker: host.waker,
    gateway: host.gateway,
    metrics: host.metrics,
    onQueueDamaged: (err) => reported.push(err),
    backlog: new BacklogGate({ queues, metrics: host.metrics }),
  });
  const { outcomes } = await router.route(event("again"));
  assert.deepEqual(outcomes.map((o) => [o.sessionId, o.kind, o.engaged]), [
    [broken, "queue-damaged", false],
    [healthy, "engaged", true],
  ]);
  assert.match(outcomes[0].reason, /damaged.*inbound\.db/);
  assert.ok(reported.length >= 1 && reported.every((e) => e.sessionId === broken));
});

Deno.test("back-pressure: at the cap a session refuses (typed, named), below it accepts, other sessions are unaffected", async () => {
  using dir = tempDir();
  await using host = await HostFixture.open(dir.path, { backlogCap: 3 });
  host.seedChat("slack", "C1");
  host.seedChat("slack", "C2");
  const accepted = [];
  for (let i = 0; i < 3; i++) accepted.push(await host.router.route(event(`m${i}`)));
  const sessionId = accepted[0].outcomes[0].sessionId!;
  assert.deepEqual(accepted.map((r) => [r.outcomes[0].kind, r.outcomes[0].sessionId]), [
    ["engaged", sessionId],
    ["engaged", sessionId],
    ["engaged", sessionId],
  ]);

  const refused = await host.router.route(event("one too many")).catch((e) => e);
  assert.ok(refused instanceof SessionBacklogFullError, String(refused));
  assert.deepEqual([refused.sessionId, refused.backlog, refused.cap], [sessionId, 3, 3]);
  assert.match(refused.message, new RegExp(`^session ${sessionId} has 3 unanswered inbound messages`));
  assert.equal((await host.inbox(sessionId)).length, 3, "nothing was queued");
  assert.equal(host.waker.wakes.length, 3, "nor woken");

  const other = await host.router.route(event("elsewhere", { platformId: "C2" }));
  assert.equal(other.outcomes[0].kind, "engaged", "another chat's session takes messages");
  assert.notEqual(other.outcomes[0].sessionId, sessionId);

  // The agent answers (its acknowledgements, mirrored by delivery): below the cap again.
  using agent = await host.agent(sessionId);
  agent.outbound.markCompleted(agent.inbound.pendingMessages().slice(0, 2).map((m) => m.id));
  await host.delivery.deliverSession(sessionId);
  const again = await host.router.route(event("after the answer"));
  assert.deepEqual([again.outcomes[0].kind, again.outcomes[0].sessionId], ["engaged", sessionId]);
  assert.deepEqual(agent.inbound.pendingMessages().map((m) => m.content), ["m2", "after the answer"]);
});

Deno.test("back-pressure with two wirings: the full session's outcome says so, the other is still written", async () => {
  using dir = tempDir();
  await using host = await HostFixture.open(dir.path, { backlogCap: 1 });
  wireTwoAgents(host);
  const first = await host.router.route(event("hello"));
  const [busy, idle] = first.outcomes.map((o) => o.sessionId!);
  // g2's agent answers; g1's does not.
  using agent = await host.agent(idle as never);
  agent.outbound.markCompleted(agent.inbound.pendingMessages().map((m) => m.id));
  await host.delivery.deliverSession(idle as never);

  const { outcomes } = await host.router.route(event("again"));
  assert.deepEqual(outcomes.map((o) => [o.sessionId, o.kind, o.engaged, o.messageId !== undefined]), [
    [busy, "backlog-full", false, false],
    [idle, "engaged", true, true],
  ]);
  assert.match(outcomes[0].reason, new RegExp(`^backlog-full: session ${busy} has 1 unanswered`));
  assert.match(host.metrics.render(), /ironclaw_router_outcomes_total\{kind="backlog-full"\} 1/);
});

Deno.test("back-pressure refuses a message with files before the channel stores them", async () => {
  using dir = tempDir();
  await using host = await HostFixture.open(dir.path, { backlogCap: 1 });
  host.seedChat("slack", "C1");
  const stored: string[] = [];
  const withFile = (text: string) =>
    event(text, {
      contentFor: (target: { sessionId: string }) => {
        stored.push(target.sessionId);
        return Promise.resolve(`${text} [file saved]`);
      },
    });
  const first = await host.router.route(withFile("photo 1"));
  assert.deepEqual(stored, [first.outcomes[0].sessionId]);
  await assert.rejects(host.router.route(withFile("photo 2")), SessionBacklogFullError);
  assert.equal(stored.length, 1, "no file stored for the refused message");
  assert.deepEqual((await host.inbox(first.outcomes[0].sessionId!)).map((m) => m.content), [
    "photo 1 [file saved]",
  ]);
});

Deno.test("a sender is answered once the message is queued, not after its sandbox starts", async () => {
  using dir = tempDir();
  await using host = await HostFixture.open(dir.path);
  host.seedChat("slack", "C1");
  const started = Promise.withResolvers<void>();
  const woken: string[] = [];
  const router = new Router({
    registry: host.registry,
    // A sandbox start that takes its time; the wake itself is under way at once.
    waker: {
      wake: async (id) => void await started.promise.then(() => woken.push(id)),
      wakeSoon: (id) => Promise.resolve(void woken.push(`soon:${id}`)),
    },
    gateway: host.gateway,
    metrics: host.metrics,
    onQueueDamaged: () => {},
    backlog: new BacklogGate({ queues: host.queues, metrics: host.metrics }),
  });
  const { outcomes } = await router.route(event("hello"));
  const sessionId = outcomes[0].sessionId!;
  assert.deepEqual([outcomes[0].kind, outcomes[0].wakeError, woken], ["engaged", undefined, [
    `soon:${sessionId}`,
  ]]);
  assert.deepEqual(
    (await host.inbox(sessionId)).map((m) => m.content),
    ["hello"],
    "durable before the answer",
  );
  started.resolve();
});

Deno.test("the router reads a chat's wirings and a sender's access once, and again after any registry write", async () => {
  using dir = tempDir();
  await using host = await HostFixture.open(dir.path);
  const { wiring } = host.seedChat("slack", "C1");
  const engaged = async () => (await host.router.route(event("hi"))).outcomes.map((o) => [o.engaged, o.kind]);
  assert.deepEqual(await engaged(), [[true, "engaged"]]);
  // Behind the registry's back (no write reported): the router keeps what it read.
  host.state.db.run("DELETE FROM roles WHERE user_id = 'slack:alice'");
  assert.deepEqual(await engaged(), [[true, "engaged"]]);
  // A revocation through the registry holds from the next message on.
  host.registry.grantRole({ userId: "slack:bob", role: "owner" });
  assert.deepEqual(await engaged(), [[false, "access-denied"]]);
  host.registry.grantRole({ userId: "slack:alice", role: "owner" });
  assert.deepEqual(await engaged(), [[true, "engaged"]]);
  host.registry.deleteWiring(wiring.id);
  assert.deepEqual(await engaged(), []);
});
