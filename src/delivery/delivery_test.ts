import assert from "node:assert/strict";
import { formatAskUserRequest, formatScheduleRequest, formatSystemAction } from "../../contract/actions.ts";
import type { SessionId } from "../../contract/ids.ts";
import { Database } from "../../contract/sqlite/mod.ts";
import { LIBRARY, tempDir } from "../../tests/support/mod.ts";
import { DEFAULT_FLOOD_LIMITS } from "../scheduling/mod.ts";
import { HostFixture } from "../../tests/support/host.ts";

/** Routes "hello" from fake:alice into g1 and returns the session id. */
async function routeHello(host: HostFixture): Promise<SessionId> {
  const { outcomes } = await host.router.route({
    channelType: "fake",
    platformId: "C1",
    senderHandle: "alice",
    text: "hello",
  });
  assert.equal(outcomes[0].engaged, true);
  return outcomes[0].sessionId!;
}

/** A host with fake:alice's chat wired to g1, "hello" routed, and the agent's side of that session. */
async function chatting(dir: string, options?: Parameters<typeof HostFixture.open>[1]) {
  const host = await HostFixture.open(dir, options);
  host.seedChat();
  const sessionId = await routeHello(host);
  const agent = await host.agent(sessionId);
  return {
    host,
    sessionId,
    agent,
    async [Symbol.asyncDispose]() {
      agent[Symbol.dispose]();
      await host[Symbol.asyncDispose]();
    },
  };
}

Deno.test("route → agent reply → delivered exactly once, also across a restart", async () => {
  using dir = tempDir();
  let sessionId: SessionId;
  let replyId: string;
  {
    await using host = await HostFixture.open(dir.path);
    host.seedChat();
    sessionId = await routeHello(host);
    using agent = await host.agent(sessionId);
    const [inbound] = agent.inbound.pendingMessages();
    assert.equal(inbound.content, "hello");
    agent.outbound.markProcessing([inbound.id]);
    replyId = agent.outbound.writeMessageOut({
      id: "out_1",
      kind: "chat",
      inReplyTo: inbound.id,
      channelType: "fake",
      platformId: "C1",
      content: "Hello from the agent.",
    }).id;
    agent.outbound.markCompleted([inbound.id]);

    const first = await host.delivery.deliverSession(sessionId);
    assert.deepEqual(first.handled.map((h) => [h.id, h.outcome]), [["out_1", "delivered"]]);
    assert.equal(first.statusesAdvanced, 1);
    const second = await host.delivery.deliverAll();
    assert.deepEqual(second.flatMap((p) => p.handled), []);
    assert.deepEqual(host.fake.delivered.map((m) => [m.id, m.content, m.platformId, m.sessionId]), [
      ["out_1", "Hello from the agent.", "C1", sessionId],
    ]);
    assert.deepEqual(agent.inbound.pendingMessages(), [], "the answered message is completed");
    assert.ok(host.metrics.render().includes('ironclaw_deliveries_total{channel="fake"} 1'));
  }
  await using host = await HostFixture.open(dir.path);
  const passes = await host.delivery.deliverAll();
  assert.deepEqual(passes.flatMap((p) => p.handled), []);
  assert.deepEqual(host.fake.delivered, [], "nothing is delivered again after a restart");
  assert.deepEqual([...(await host.queues.inboundWriter(sessionId)).deliveredIds()], [replyId]);
});

Deno.test("a wake signal triggers delivery without waiting for the fallback poll", async () => {
  using dir = tempDir();
  await using host = await HostFixture.open(dir.path, { delivery: { fallbackMs: 3_600_000 } });
  host.seedChat();
  const sessionId = await routeHello(host);
  host.delivery.start();
  using agent = await host.agent(sessionId);
  agent.outbound.writeMessageOut({ id: "out_bell", kind: "chat", content: "rung" });
  host.delivery.notify(sessionId);
  await host.fake.until(1);
  assert.deepEqual(host.fake.delivered.map((m) => [m.content, m.channelType, m.platformId]), [[
    "rung",
    "fake",
    "C1",
  ]]);
});

Deno.test("privileged system actions become pending gateway changes, never deliveries", async () => {
  using dir = tempDir();
  await using chat = await chatting(dir.path);
  const { host, sessionId, agent } = chat;
  const payloads: [string, unknown][] = [
    ["persona", { instructions: "be terse" }],
    ["enabled_tools", ["web_search", "http_fetch"]],
    ["packages", { apt: ["ripgrep"], npm: ["@scope/pkg"] }],
    ["wiring", { engage: "mention", pattern: "^hey" }],
    ["mounts", [{ source: "/srv/data" }]],
  ];
  for (const [kind, payload] of payloads) {
    agent.outbound.writeMessageOut({
      id: `sys_${kind}`,
      kind: "system",
      content: formatSystemAction({ action: kind, payload, reason: `the user asked for ${kind}` }),
    });
  }
  agent.outbound.writeMessageOut({
    id: "sys_shell",
    kind: "system",
    content: '{"action":"shell","payload":"rm -rf /"}',
  });
  agent.outbound.writeMessageOut({ id: "sys_typing", kind: "system", content: "typing" });

  const pass = await host.delivery.deliverSession(sessionId);
  assert.deepEqual(pass.retry, []);
  assert.equal(host.fake.delivered.length, 0);
  const changes = host.gateway.history().concat(host.gateway.pending());
  const byKind = new Map(changes.map((c) => [c.request.kind + ":" + JSON.stringify(c.request.after), c]));
  for (const [kind, payload] of payloads) {
    const change = byKind.get(`${kind}:${JSON.stringify(payload)}`);
    assert.ok(change, `a ${kind} change was filed`);
    assert.equal(change.request.requestedBy, `sandbox:${sessionId}`);
    assert.equal(change.request.rationale, `the user asked for ${kind}`, "the agent's stated reason is kept");
    assert.equal(change.request.agentGroupId, "g1");
    assert.notEqual(change.status, "applied");
  }
  const shell = changes.find((c) => c.request.after === "rm -rf /");
  assert.equal(shell?.request.kind, "permissions", "an unknown action is a privileged permissions request");
  assert.equal(shell?.status, "rejected", "its payload fails the schema: nothing runs");
  assert.deepEqual(pass.handled.find((h) => h.id === "sys_typing")?.outcome, "ignored");
});

Deno.test("a change request is filed once, even when its row is handled again after a restart", async () => {
  using dir = tempDir();
  let sessionId: SessionId;
  {
    await using host = await HostFixture.open(dir.path);
    host.seedChat();
    sessionId = await routeHello(host);
    using agent = await host.agent(sessionId);
    agent.outbound.writeMessageOut({
      id: "sys_p",
      kind: "system",
      content: formatSystemAction({ action: "persona", payload: { soul: "calm" } }),
    });
    await host.delivery.deliverSession(sessionId);
    assert.equal(host.gateway.pending().length, 1);
  }
  await using host = await HostFixture.open(dir.path);
  await host.delivery.deliverAll();
  assert.equal(host.gateway.pending().length, 1);
});

Deno.test("a change whose payload holds a control character is refused before the gateway records it", async () => {
  using dir = tempDir();
  await using chat = await chatting(dir.path);
  const { host, sessionId, agent } = chat;
  agent.outbound.writeMessageOut({
    id: "sys_esc",
    kind: "system",
    content: formatSystemAction({ action: "persona", payload: { soul: "calm\x1b]52;c;ZXZpbA==\x07" } }),
  });
  const pass = await host.delivery.deliverSession(sessionId);
  assert.deepEqual(pass.handled.map((h) => [h.id, h.outcome]), [["sys_esc", "refused"]]);
  assert.deepEqual(host.gateway.pending(), [], "nothing is recorded");
  const note = agent.inbound.pendingMessages().find((m) => m.kind === "system");
  assert.match(note?.content ?? "", /after\.soul holds a control character/);
});

Deno.test("an agent cannot flood: tasks and open questions are capped, a 1s recurrence is refused, and it is told why", async () => {
  using dir = tempDir();
  await using chat = await chatting(dir.path);
  const { host, sessionId, agent } = chat;
  const { tasksPerSession, questionsPerSession } = DEFAULT_FLOOD_LIMITS;
  agent.outbound.writeMessageOut({
    id: "every_second",
    kind: "system",
    content: formatScheduleRequest({ prompt: "ping", run_at: "", recurrence: "1s" }),
  });
  for (let i = 0; i <= tasksPerSession; i++) {
    agent.outbound.writeMessageOut({
      id: `task_${i}`,
      kind: "system",
      content: formatScheduleRequest({ prompt: `t${i}`, run_at: "2030-01-01T09:00:00Z" }),
    });
  }
  for (let i = 0; i <= questionsPerSession; i++) {
    agent.outbound.writeMessageOut({
      id: `ask_${i}`,
      kind: "system",
      content: formatAskUserRequest({ question: `q${i}?`, options: ["yes", "no"] }),
    });
  }
  const pass = await host.delivery.deliverSession(sessionId);
  const outcome = (id: string) => pass.handled.find((h) => h.id === id)?.outcome;
  assert.equal(outcome("every_second"), "refused");
  assert.equal(outcome(`task_${tasksPerSession - 1}`), "scheduled");
  assert.equal(outcome(`task_${tasksPerSession}`), "refused");
  assert.equal(outcome(`ask_${questionsPerSession - 1}`), "asked");
  assert.equal(outcome(`ask_${questionsPerSession}`), "refused");
  assert.equal(host.tasks.list(sessionId).length, tasksPerSession);
  const notes = agent.inbound.pendingMessages().filter((m) => m.kind === "system").map((m) => m.content).join(
    "\n",
  );
  assert.match(notes, /recurrence 1s is more often than this host allows \(at most every 5m/);
  assert.match(notes, /too many tasks: this conversation already has 20 live tasks \(the cap is 20\)/);
  assert.match(notes, /too many open questions: this conversation has 10 unanswered \(the cap is 10\)/);
});

Deno.test("schedule_task and task management act on the durable task store", async () => {
  using dir = tempDir();
  await using chat = await chatting(dir.path);
  const { host, sessionId, agent } = chat;
  agent.outbound.writeMessageOut({
    id: "sched_1",
    kind: "system",
    content: formatScheduleRequest({
      prompt: "stand-up summary",
      run_at: "2030-01-01T09:00:00+02:00",
      recurrence: "daily",
    }),
  });
  agent.outbound.writeMessageOut({
    id: "sched_bad",
    kind: "system",
    content: formatScheduleRequest({ prompt: "x", run_at: "tomorrow-ish" }),
  });
  await host.delivery.deliverSession(sessionId);
  const [task] = host.tasks.list(sessionId);
  assert.deepEqual([task.prompt, task.nextRun, task.recurrence, task.state], [
    "stand-up summary",
    "2030-01-01T07:00:00.000Z",
    "daily",
    "active",
  ]);
  assert.deepEqual(agent.inbound.tasks().map((t) => t.id), [task.id], "the agent's copy is synced");
  const refusal = agent.inbound.pendingMessages().find((m) => m.kind === "system");
  assert.ok(refusal?.content.includes("schedule_task: run_at"), refusal?.content);
  assert.equal(refusal?.trigger, 0);

  agent.outbound.writeMessageOut({
    id: "list_1",
    kind: "system",
    content: formatSystemAction({ action: "list_tasks" }),
  });
  agent.outbound.writeMessageOut({
    id: "pause_1",
    kind: "system",
    content: formatSystemAction({ action: "pause_task", payload: { task_id: task.id } }),
  });
  agent.outbound.writeMessageOut({
    id: "cancel_x",
    kind: "system",
    content: formatSystemAction({ action: "cancel_task", payload: { task_id: "tsk_nope" } }),
  });
  const pass = await host.delivery.deliverSession(sessionId);
  assert.deepEqual(pass.handled.map((h) => h.outcome), ["task-answered", "task-answered", "task-answered"]);
  const answers = agent.inbound.pendingMessages().filter((m) => m.kind === "system" && m.trigger === 1);
  assert.equal(answers.length, 3);
  assert.ok(answers[0].content.includes(task.id) && answers[0].content.includes("stand-up summary"));
  assert.equal(answers[1].content, `Task ${task.id} is paused.`);
  assert.ok(answers[2].content.startsWith("cancel_task failed: task"), answers[2].content);
  assert.equal(host.tasks.get(sessionId, task.id).state, "paused");
  assert.deepEqual(agent.inbound.tasks().map((t) => t.state), ["paused"]);
  assert.equal(host.gateway.pending().length, 0, "task management never reaches the approvals inbox");
});

Deno.test("ask_user_question is stored durably and the answer comes back to the session", async () => {
  using dir = tempDir();
  await using chat = await chatting(dir.path);
  const { host, sessionId, agent } = chat;
  agent.outbound.writeMessageOut({
    id: "ask_1",
    kind: "system",
    content: formatAskUserRequest({ question: "Ship it?", options: ["yes", "no"] }),
  });
  await host.delivery.deliverSession(sessionId);
  const [question] = host.desk.pending();
  assert.deepEqual([question.question, question.options, question.allowFreeform, question.sessionId], [
    "Ship it?",
    ["yes", "no"],
    false,
    sessionId,
  ]);
  await assert.rejects(host.desk.answer(question.id, "maybe", "web:alice"), /choose one of/);
  host.waker.wakes.length = 0;
  await host.desk.answer(question.id, "yes", "web:alice");
  await host.desk.answer(question.id, "yes", "web:alice");
  assert.deepEqual(host.desk.pending(), []);
  const answers = agent.inbound.pendingMessages().filter((m) => m.content.includes("Ship it?"));
  assert.equal(answers.length, 1, "a repeated answer is handed over once");
  assert.equal(answers[0].trigger, 1);
  assert.ok(answers[0].content.endsWith("Answer: yes"));
  assert.deepEqual(host.waker.wakes, [sessionId, sessionId]);
});

Deno.test("a destination is delivered only once permitted; until then the row waits", async () => {
  using dir = tempDir();
  await using chat = await chatting(dir.path);
  const { host, sessionId, agent } = chat;
  agent.outbound.writeMessageOut({
    id: "o_far",
    kind: "chat",
    channelType: "fake",
    platformId: "C9",
    content: "psst",
  });
  agent.outbound.writeMessageOut({ id: "o_home", kind: "chat", content: "to origin" });
  const held = await host.delivery.deliverSession(sessionId);
  assert.deepEqual(held.retry.map((r) => [r.id, r.error]), [["o_far", "destination not permitted: fake C9"]]);
  assert.deepEqual(host.fake.delivered.map((m) => m.id), ["o_home"]);
  host.registry.addDestination({ agentGroupId: "g1", channelType: "fake", platformId: "C9" });
  await host.delivery.deliverSession(sessionId);
  assert.deepEqual(host.fake.delivered.map((m) => [m.id, m.platformId]), [["o_home", "C1"], ["o_far", "C9"]]);
});

Deno.test("a failing adapter leaves the row for the next pass; bad rows are reported, good ones flow", async () => {
  using dir = tempDir();
  await using chat = await chatting(dir.path);
  const { host, sessionId, agent } = chat;
  agent.outbound.writeMessageOut({ id: "o1", kind: "chat", content: "one" });
  // A hostile agent writes around the typed writer, straight into its own file.
  using raw = Database.open(host.queues.paths(sessionId).outbound, {
    library: LIBRARY,
    key: await host.queues.sessionKey(sessionId),
  });
  raw.exec(
    "INSERT INTO messages_out (id, seq, timestamp, kind, content) VALUES ('../evil', 99, 'x', 'shell', 'x')",
  );
  agent.outbound.writeMessageOut({
    id: "o2",
    kind: "chat",
    channelType: "nowhere",
    platformId: "X",
    content: "two",
  });
  host.registry.addDestination({ agentGroupId: "g1", channelType: "nowhere", platformId: "X" });
  host.fake.failWith = new Error("channel down");
  const failed = await host.delivery.deliverSession(sessionId);
  assert.equal(failed.invalid, 1);
  assert.deepEqual(failed.retry.map((r) => r.error), ["channel down", "no channel adapter for nowhere"]);
  host.fake.failWith = undefined;
  const retried = await host.delivery.deliverSession(sessionId);
  assert.deepEqual(retried.handled.map((h) => h.id), ["o1"]);
  assert.equal(host.fake.delivered.length, 1);
});

Deno.test("a pass reads past what is handled for good, never past a row held back (not due, or failed)", async () => {
  using dir = tempDir();
  await using chat = await chatting(dir.path);
  const { host, sessionId, agent } = chat;
  const [hello] = agent.inbound.pendingMessages();
  agent.outbound.markProcessing([hello.id]);
  const acked = await host.delivery.deliverSession(sessionId);
  assert.deepEqual([acked.handled, acked.statusesAdvanced], [[], 1], "an ack with no row is mirrored alone");

  const dueAt = Date.now() + 400;
  agent.outbound.writeMessageOut({
    id: "o_later",
    kind: "chat",
    content: "later",
    deliverAfter: new Date(dueAt).toISOString(),
  });
  agent.outbound.writeMessageOut({ id: "o_now", kind: "chat", content: "now" });
  agent.outbound.markCompleted([hello.id]);
  const first = await host.delivery.deliverSession(sessionId);
  assert.deepEqual(first.handled.map((h) => h.id), ["o_now"]);
  assert.equal(first.statusesAdvanced, 1, "the ack is mirrored with the delivered mark");
  assert.equal(await host.queues.hasOpenWork(sessionId), false);

  host.fake.failWith = new Error("channel down");
  agent.outbound.writeMessageOut({ id: "o_failed", kind: "chat", content: "failed once" });
  assert.deepEqual((await host.delivery.deliverSession(sessionId)).retry.map((r) => r.id), ["o_failed"]);
  host.fake.failWith = undefined;
  agent.outbound.writeMessageOut({ id: "o_next", kind: "chat", content: "next" });
  const second = await host.delivery.deliverSession(sessionId);
  assert.deepEqual(second.handled.map((h) => h.id), ["o_failed", "o_next"]);

  await new Promise((resolve) => setTimeout(resolve, Math.max(0, dueAt - Date.now() + 20)));
  const third = await host.delivery.deliverSession(sessionId);
  assert.deepEqual(third.handled.map((h) => h.id), ["o_later"], "the held-back row is not skipped");
  assert.deepEqual((await host.delivery.deliverSession(sessionId)).handled, []);
  assert.deepEqual(host.fake.delivered.map((m) => m.content), ["now", "failed once", "next", "later"]);
});

Deno.test("agent to agent: authorised, woken, hop-limited and rate-limited", async () => {
  using dir = tempDir();
  await using host = await HostFixture.open(dir.path, {
    delivery: { a2a: { hopLimit: 2, perMinute: 2, now: () => 0 } },
  });
  host.seedChat();
  host.registry.putAgentGroup({ id: "g2", name: "Helper" });
  const sender = await routeHello(host);
  using agent = await host.agent(sender);
  agent.outbound.writeMessageOut({
    id: "a1",
    kind: "chat",
    channelType: "agent",
    platformId: "g2",
    content: "help me",
  });
  const denied = await host.delivery.deliverSession(sender);
  assert.deepEqual(denied.retry.map((r) => r.error), ["destination not permitted: agent g2"]);

  host.registry.addDestination({ agentGroupId: "g1", channelType: "agent", platformId: "g2" });
  host.waker.wakes.length = 0;
  const sent = await host.delivery.deliverSession(sender);
  assert.deepEqual(sent.handled.map((h) => h.outcome), ["a2a"]);
  const [target] = host.registry.listSessions("g2");
  assert.deepEqual(host.waker.wakes, [target.id], "the target session is woken");
  using helper = await host.agent(target.id);
  const [row] = helper.inbound.pendingMessages();
  assert.deepEqual([row.content, row.sourceSessionId, row.channelType, row.platformId, row.trigger], [
    "help me",
    sender,
    "agent",
    "g1",
    1,
  ]);
  assert.deepEqual(helper.inbound.sessionRouting(), {
    channelType: "agent",
    platformId: "g1",
    threadId: null,
  });

  // The helper replies to its origin (no destination grant needed): hop 1 → the sender is at hop 2.
  helper.outbound.writeMessageOut({ id: "b1", kind: "chat", content: "on it" });
  const back = await host.delivery.deliverSession(target.id);
  assert.deepEqual(back.handled.map((h) => h.outcome), ["a2a"]);
  assert.ok(
    agent.inbound.pendingMessages().some((m) => m.content === "on it" && m.sourceSessionId === target.id),
  );
  agent.outbound.writeMessageOut({
    id: "a2",
    kind: "chat",
    channelType: "agent",
    platformId: "g2",
    content: "again",
  });
  const limited = await host.delivery.deliverSession(sender);
  assert.deepEqual(limited.handled.map((h) => [h.outcome, h.detail]), [["dropped", "hop limit 2 reached"]]);
});

Deno.test("the per-group rate limit drops sends over the window's quota", async () => {
  using dir = tempDir();
  await using host = await HostFixture.open(dir.path, { delivery: { a2a: { perMinute: 1, now: () => 0 } } });
  host.seedChat();
  host.registry.putAgentGroup({ id: "g2", name: "Helper" });
  host.registry.addDestination({ agentGroupId: "g1", channelType: "agent", platformId: "g2" });
  const sender = await routeHello(host);
  using agent = await host.agent(sender);
  agent.outbound.writeMessageOut({
    id: "r1",
    kind: "chat",
    channelType: "agent",
    platformId: "g2",
    content: "1",
  });
  agent.outbound.writeMessageOut({
    id: "r2",
    kind: "chat",
    channelType: "agent",
    platformId: "g2",
    content: "2",
  });
  const pass = await host.delivery.deliverSession(sender);
  assert.deepEqual(pass.handled.map((h) => h.outcome), ["a2a", "dropped"]);
});

Deno.test("agent to agent: a target session at its backlog cap is skipped and the sender is told", async () => {
  using dir = tempDir();
  await using host = await HostFixture.open(dir.path, { backlogCap: 1 });
  host.seedChat();
  host.registry.putAgentGroup({ id: "g2", name: "Helper" });
  host.registry.addDestination({ agentGroupId: "g1", channelType: "agent", platformId: "g2" });
  const sender = await routeHello(host);
  using agent = await host.agent(sender);
  const send = (id: string) =>
    agent.outbound.writeMessageOut({ id, kind: "chat", channelType: "agent", platformId: "g2", content: id });
  const notes = () =>
    agent.inbound.pendingMessages().filter((m) => m.kind === "system").map((m) => [m.trigger, m.content]);

  send("a1");
  assert.deepEqual((await host.delivery.deliverSession(sender)).handled.map((h) => h.outcome), ["a2a"]);
  const [helper] = host.registry.listSessions("g2");
  send("a2");
  const refused = await host.delivery.deliverSession(sender);
  assert.deepEqual(refused.handled.map((h) => h.outcome), ["refused"]);
  const why = `agent g2 is not taking messages now: session ${helper.id} has 1 unanswered inbound messages`;
  assert.deepEqual(notes().map(([trigger]) => trigger), [0]);
  assert.ok(String(notes()[0][1]).startsWith(`The host refused your request: ${why}`), String(notes()[0][1]));

  // A second session of g2 with room: the send reaches it, and the sender hears about the full one.
  const other = host.registry.getOrCreateMessagingGroup({ channelType: "fake", platformId: "C2" });
  const roomy = host.registry.resolveSession("g2", other.id, null, "shared");
  host.waker.wakes.length = 0;
  send("a3");
  const partial = await host.delivery.deliverSession(sender);
  assert.deepEqual(partial.handled.map((h) => [h.outcome, h.detail]), [
    ["a2a", "1 session(s) of g2, 1 at their backlog cap"],
  ]);
  assert.deepEqual(host.waker.wakes, [roomy.id], "only the session that took it is woken");
  assert.ok(String(notes()[1][1]).startsWith(`The host delivered your message to 1 of 2 sessions: ${why}`));
  using target = await host.agent(roomy.id);
  assert.deepEqual(target.inbound.pendingMessages().map((m) => m.content), ["a3"]);
  assert.match(
    host.metrics.render(),
    /ironclaw_inbound_refused_total\{channel="agent",reason="backlog-full"\} 2/,
  );
});
