/**
 * Journeys through a running control plane and the real sandboxed agent
 * (process backend): the mock model's `tool:` form runs the agent's file
 * tools in its workspace; `schedule_task` fires a one-shot task once at its
 * time and a recurring one again and again; and a host restart between a
 * message being queued and its reply being delivered neither loses nor
 * duplicates anything.
 */
import assert from "node:assert/strict";
import type { SessionId } from "../../contract/ids.ts";
import { DEMO_AGENT_ID } from "../../src/control_plane/mod.ts";
import { FakeAdapter } from "../support/host.ts";
import { sessionDirs } from "../../src/sandbox/mod.ts";
import { tempDir } from "../support/mod.ts";
import { diagnose, nextReplies, until } from "./harness.ts";
import { collectReplies, openPlane } from "./plane.ts";
import { DEFAULT_FLOOD_LIMITS } from "../../src/scheduling/mod.ts";
import { answered, sentSession } from "../support/api.ts";

type Host = Awaited<ReturnType<typeof openPlane>>;

async function send(host: Host, text: string) {
  const sent = await answered(
    host.api.v1.ui.chat.send.$post({ json: { agentGroupId: DEMO_AGENT_ID, text } }),
  );
  assert.equal(sent.status, 202, JSON.stringify(sent.body));
  assert.equal(sent.body.outcomes[0].wakeError, undefined);
  return { chatId: sent.body.chatId, sessionId: sentSession(sent.body) };
}

Deno.test("e2e journey: the mock model's tool calls run the agent's file tools in its workspace", async () => {
  using dir = tempDir("ironclaw-e2e-");
  await using host = await openPlane(dir.path, { isolator: "process" });
  const write = await send(host, 'tool:write_file {"path":"notes/todo.txt","content":"buy milk"}');
  assert.deepEqual(await nextReplies(host, write.chatId), [
    "mock-agent tool result: wrote 8 bytes to notes/todo.txt",
  ]);

  await send(host, 'tool:read_file {"path":"notes/todo.txt"}');
  assert.deepEqual(await nextReplies(host, write.chatId), ["mock-agent tool result: buy milk"]);

  await send(host, 'tool:list_dir {"path":"notes"}');
  const [listing] = await nextReplies(host, write.chatId);
  const entries = JSON.parse(listing.replace(/^mock-agent tool result: /, ""));
  assert.deepEqual(entries.map((e: { name: string }) => e.name), ["todo.txt"]);

  // The file is in this session's workspace on the host, and nowhere else the agent could have put it.
  const { workspaceDir: workspace } = sessionDirs(`${dir.path}/sandbox`, write.sessionId, DEMO_AGENT_ID);
  assert.equal(await Deno.readTextFile(`${workspace}/notes/todo.txt`), "buy milk");

  // A path out of the workspace is refused, and the model is told.
  await send(host, 'tool:read_file {"path":"../../../api-token"}');
  const [refused] = await nextReplies(host, write.chatId);
  assert.match(refused, /^mock-agent tool result: /);
  assert.doesNotMatch(refused, /e2e-token|[0-9a-f]{32}/);
});

Deno.test("e2e journey: a scheduled task fires once at its time; a recurring one fires again", async () => {
  using dir = tempDir("ironclaw-e2e-");
  // The operator allows a 2 s recurrence here (serve --min-recurrence): the test watches it fire twice.
  await using host = await openPlane(dir.path, {
    isolator: "process",
    floodLimits: { ...DEFAULT_FLOOD_LIMITS, minRecurrenceMs: 1000 },
  });
  const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();

  const once = await send(
    host,
    `tool:schedule_task ${JSON.stringify({ prompt: "one-shot ping", run_at: inSeconds(2) })}`,
  );
  const [ack] = await nextReplies(host, once.chatId);
  assert.match(ack, /^mock-agent tool result: asked the host to schedule the task at /);
  // The scheduler sleeps until the task is due, enqueues it, and wakes the agent, which answers it.
  assert.deepEqual(await collectReplies(host, once.chatId, (r) => r.length >= 1), [
    "mock-agent received: one-shot ping",
  ]);
  // Done: it left the session's task list (active and paused tasks) once it ran.
  assert.deepEqual(host.plane.tasks.list(once.sessionId), []);

  const tickAt = inSeconds(1);
  await send(
    host,
    `tool:schedule_task ${JSON.stringify({ prompt: "tick", run_at: tickAt, recurrence: "2s" })}`,
  );
  const replies = await collectReplies(
    host,
    once.chatId,
    (r) => r.filter((x) => x === "mock-agent received: tick").length >= 2,
  );
  assert.match(replies[0], /^mock-agent tool result: asked the host to schedule the task at /);
  assert.ok(replies.slice(1).every((r) => r === "mock-agent received: tick"), JSON.stringify(replies));
  assert.ok(!replies.includes("mock-agent received: one-shot ping"), "the one-shot task never fires again");
  const recurring = host.plane.tasks.list(once.sessionId).find((t) => t.prompt === "tick");
  assert.equal(recurring?.state, "active");
  assert.equal(recurring?.recurrence, "2s");
  // It ran at least twice, and re-enqueued itself on its rhythm: the next run is two periods on, or more.
  assert.ok(
    recurring?.nextRun && Date.parse(recurring.nextRun) >= Date.parse(tickAt) + 4000,
    String(recurring?.nextRun),
  );
});

/** Seeds owner fake:alice and chat fake/C1 wired to the demo agent; returns a router shortcut. */
function fakeChat(host: Host) {
  const r = host.plane.registry;
  if (!r.listWirings().some((w) => w.agentGroupId === DEMO_AGENT_ID && w.engagePattern === ".")) {
    r.grantRole({ userId: "fake:alice", role: "owner" });
    const chat = r.getOrCreateMessagingGroup({ channelType: "fake", platformId: "C1" });
    r.putWiring({
      messagingGroupId: chat.id,
      agentGroupId: DEMO_AGENT_ID,
      engageMode: "pattern",
      engagePattern: ".",
    });
  }
  return (text: string) =>
    host.plane.router.route({ channelType: "fake", platformId: "C1", senderHandle: "alice", text });
}

/** Waits until the session's agent has written a reply to `messageId` (read through the host's outbound role). */
async function replied(host: Host, sessionId: SessionId, messageId: string): Promise<void> {
  await until(async () => {
    const out = (await host.plane.queues.outboundReader(sessionId)).dueMessages().messages;
    return out.some((m) => m.inReplyTo === messageId) ? true : undefined;
  }, () => diagnose(host));
}

Deno.test("e2e journey: a host restart between a reply being written and delivered loses and duplicates nothing", async () => {
  using dir = tempDir("ironclaw-e2e-");
  const fake = new FakeAdapter("fake");
  const options = { isolator: "process" as const, channels: [fake] };
  let sessionId: SessionId, oneId: string;
  {
    // First life without the delivery loop: the agent's reply stays in its outbound queue.
    await using host = await openPlane(dir.path, { ...options, background: false });
    const one = (await fakeChat(host)("one")).outcomes[0];
    assert.equal(one.wakeError, undefined);
    sessionId = one.sessionId!;
    oneId = one.messageId!;
    await replied(host, sessionId, oneId);
    assert.equal(fake.delivered.length, 0, "not delivered before the restart");
  }

  // Second life on the same state directory: the pending reply goes out once; the conversation carries on.
  await using host = await openPlane(dir.path, options);
  await fake.until(1);
  const two = (await fakeChat(host)("two")).outcomes[0];
  assert.equal(two.sessionId, sessionId, "the same session");
  await fake.until(2);
  // More passes (and the relaunched agent's first poll, which sees "one" again) add nothing.
  await replied(host, sessionId, two.messageId!);
  await host.plane.delivery.deliverAll();
  await host.plane.delivery.deliverAll();
  assert.deepEqual(fake.delivered.map((m) => [m.inReplyTo, m.content]), [
    [oneId, "mock-agent received: one"],
    [two.messageId, "mock-agent received: two"],
  ]);
  const out = (await host.plane.queues.outboundReader(sessionId)).dueMessages().messages;
  assert.equal(out.filter((m) => m.kind === "chat").length, 2, "the agent answered each message once");
});

Deno.test({
  name:
    "e2e journey: a message queued but not yet answered when the host stops is answered after the restart",
  fn: async () => {
    using dir = tempDir("ironclaw-e2e-");
    const fake = new FakeAdapter("fake");
    // A long fallback poll: the agent reads its queue when rung, so a row written without a ring waits.
    const options = { isolator: "process" as const, channels: [fake], agentPollMs: 600_000 };
    let sessionId: SessionId, twoId: string;
    {
      await using host = await openPlane(dir.path, options);
      const one = (await fakeChat(host)("one")).outcomes[0];
      sessionId = one.sessionId!;
      await fake.until(1);
      // "two" is queued as the router does, and the host stops before the wake.
      twoId = (await host.plane.queues.inboundWriter(sessionId)).writeMessageIn({
        id: "in_two_before_stop",
        kind: "chat",
        trigger: 1,
        channelType: "fake",
        platformId: "C1",
        content: "two",
      }).id;
    }
    await using host = await openPlane(dir.path, options);
    await until(
      async () => {
        await host.plane.delivery.deliverAll();
        return fake.delivered.length >= 2 ? true : undefined;
      },
      async () =>
        `delivered ${JSON.stringify(fake.delivered.map((m) => m.content))}\n${await diagnose(host)}`,
    );
    assert.deepEqual(fake.delivered.map((m) => [m.inReplyTo, m.content]).slice(1), [[
      twoId,
      "mock-agent received: two",
    ]]);
  },
});

Deno.test("e2e journey: an idle sandbox is hibernated and the next message wakes it; nothing lost or duplicated", async () => {
  using dir = tempDir("ironclaw-e2e-");
  const fake = new FakeAdapter("fake");
  // Any sandbox idle for 1 ms with nothing waiting counts as idle: the sweep below stops it.
  await using host = await openPlane(dir.path, { isolator: "process", channels: [fake], idleStopMs: 1 });
  const one = (await fakeChat(host)("one")).outcomes[0];
  await fake.until(1);
  const sessionId = one.sessionId!;
  // This pass or the background sweep's (every second here) stops it.
  const hibernated = await until(async () => {
    await host.plane.sweep.runOnce();
    const ids = await host.plane.sweep.hibernated();
    return ids.length > 0 ? ids : undefined;
  }, () => diagnose(host));
  assert.deepEqual(hibernated, [sessionId]);
  assert.deepEqual(host.plane.sandboxes.sessions(), [], "no sandbox holds memory for it now");

  const two = (await fakeChat(host)("two")).outcomes[0];
  assert.equal(two.sessionId, sessionId, "the same session, woken");
  await fake.until(2);
  await host.plane.delivery.deliverAll();
  assert.deepEqual(fake.delivered.map((m) => [m.inReplyTo, m.content]), [
    [one.messageId, "mock-agent received: one"],
    [two.messageId, "mock-agent received: two"],
  ]);
  const out = (await host.plane.queues.outboundReader(sessionId)).dueMessages().messages;
  assert.equal(out.filter((m) => m.kind === "chat").length, 2, "the agent answered each message once");
});
