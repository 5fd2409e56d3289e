/**
 * Parity §9.4: the sandbox's agent loop, for real, over real encrypted queue
 * files (the host side played through the host's queue roles), talking to a
 * fake provider that speaks the Anthropic Messages API on a unix socket
 * through the real SDK client. Each test drives `poll()` (or `run()` for the
 * backoff) and checks what the host would see: model calls and their
 * prompts, outbound rows, acknowledgements and the durable session state.
 *
 * @module
 */
import assert from "node:assert/strict";
import { parseSystemAction } from "../../contract/actions.ts";
import { ModelBreaker } from "../../sandbox-agent/loop/mod.ts";
import { anthropicError, contentText, type ModelCall } from "../support/agent_model_server.ts";
import { LoopHarness } from "../support/agent_loop_harness.ts";

/** The text of the last user message of a model call: the prompt of that turn. */
function promptOf(call: ModelCall): string {
  return contentText(call.body.messages.at(-1).content);
}

/** A harness whose loop has already made its first (empty) poll, so the backlog rule is out of the way. */
async function started(options: Parameters<typeof LoopHarness.start>[0] = {}) {
  const h = await LoopHarness.start(options);
  const loop = h.loop();
  assert.equal(await loop.poll(), "idle");
  return { h, loop };
}

Deno.test("loop: a non-trigger message accumulates; the next trigger engages with both, as one prompt", async () => {
  const { h, loop } = await started();
  await using _h = h;
  h.write({ id: "m1", content: "first", trigger: 0 });
  assert.equal(await loop.poll(), "accumulating");
  assert.equal(h.server.calls.length, 0, "no model call while accumulating");
  assert.deepEqual(h.outbound(), [], "no outbound rows");
  assert.deepEqual(h.acks(), [], "no acknowledgements");

  h.write({ id: "m2", content: "second", trigger: 1 });
  assert.equal(await loop.poll(), "engaged");
  assert.equal(h.server.calls.length, 1);
  assert.equal(promptOf(h.server.calls[0]), "first\n\nsecond");
  const out = h.outbound();
  assert.equal(out.length, 1);
  assert.deepEqual([out[0].kind, out[0].content, out[0].inReplyTo, out[0].channelType, out[0].platformId], [
    "chat",
    "mock-agent received: first\n\nsecond",
    "m2",
    "slack",
    "C123",
  ]);
  const acks = h.acks();
  assert.deepEqual(acks.map((a) => [a.messageId, a.status]).sort(), [["m1", "completed"], [
    "m2",
    "completed",
  ]]);
  assert.equal(h.logs().filter((l) => l.event === "engage").length, 1, "engaged once");
  assert.equal(h.logs().filter((l) => l.event === "reply").length, 1);
});

Deno.test("loop: a message still pending because the host lags is answered once", async () => {
  const { h, loop } = await started();
  await using _h = h;
  h.write({ id: "m1", content: "only once please" });
  assert.equal(await loop.poll(), "engaged");
  // The host has not mirrored the acks: m1 is still `queued` in inbound on the next polls.
  assert.equal(await loop.poll(), "idle");
  assert.equal(await loop.poll(), "idle");
  assert.equal(h.server.calls.length, 1);
  assert.equal(h.outbound().length, 1);
});

Deno.test("loop: the first poll after a start drains the backlog, even without a trigger", async () => {
  const h = await LoopHarness.start();
  await using _h = h;
  h.write({ id: "m1", content: "left while you were away", trigger: 0 });
  assert.equal(await h.loop().poll(), "engaged");
  assert.equal(h.server.calls.length, 1);
  assert.deepEqual(h.outbound().map((o) => [o.inReplyTo, o.content]), [
    ["m1", "mock-agent received: left while you were away"],
  ]);
});

Deno.test("loop: a due scheduled task engages by itself and is answered", async () => {
  const { h, loop } = await started();
  await using _h = h;
  h.write({
    id: "t1",
    kind: "task",
    status: "scheduled",
    trigger: 0,
    processAfter: new Date(Date.now() - 60_000).toISOString(),
    content: "water the plants",
  });
  assert.equal(await loop.poll(), "engaged");
  assert.equal(h.server.calls.length, 1);
  assert.equal(promptOf(h.server.calls[0]), "water the plants");
  assert.deepEqual(h.outbound().map((o) => [o.kind, o.inReplyTo]), [["chat", "t1"]]);
});

Deno.test("loop: /help is answered locally, with no model call", async () => {
  const { h, loop } = await started();
  await using _h = h;
  h.write({ id: "c1", content: "/help" });
  assert.equal(await loop.poll(), "engaged");
  assert.equal(h.server.calls.length, 0);
  const out = h.outbound();
  assert.equal(out.length, 1);
  assert.ok(out[0].content.startsWith("Commands"), out[0].content);
  assert.equal(out[0].inReplyTo, "c1");
  assert.deepEqual(h.acks().map((a) => [a.messageId, a.status]), [["c1", "completed"]]);
});

Deno.test("loop: /reset in the batch skips the model turn and records the reset", async () => {
  const { h, loop } = await started();
  await using _h = h;
  h.write({ id: "m1", content: "please answer", trigger: 0 });
  h.write({ id: "m2", content: "/reset" });
  assert.equal(await loop.poll(), "engaged");
  assert.equal(h.server.calls.length, 0, "no model turn");
  const state = h.state();
  assert.ok(state.reset_at && !Number.isNaN(Date.parse(state.reset_at)), JSON.stringify(state));
  assert.deepEqual(h.history(), []);
  assert.deepEqual(h.outbound().map((o) => o.inReplyTo), ["m2"], "only the command is answered");
  assert.deepEqual(h.acks().map((a) => [a.messageId, a.status]).sort(), [["m1", "completed"], [
    "m2",
    "completed",
  ]]);
  assert.equal(await loop.poll(), "idle", "the skipped message is not asked again");
  assert.equal(h.server.calls.length, 0);
});

Deno.test("loop: the prompt joins messages with blank lines and heads each with where it came from", async () => {
  const { h, loop } = await started();
  await using _h = h;
  h.write({ id: "m1", content: "hello", trigger: 0 });
  h.write({ id: "m2", content: "world" });
  await loop.poll();
  assert.equal(promptOf(h.server.calls[0]), "hello\n\nworld");

  h.write({ id: "m3", content: "  from slack  ", channelType: "slack", platformId: "C123" });
  await loop.poll();
  const prompt = promptOf(h.server.calls[1]);
  assert.equal(prompt, "[chat via slack C123]\nfrom slack");
  // The earlier exchange rides along as history, before the new prompt.
  assert.equal(h.server.calls[1].body.messages.length, 3);
  assert.equal(contentText(h.server.calls[1].body.messages[0].content), "hello\n\nworld");
});

Deno.test("loop: tool calls run and feed their results back; a capability request leaves as a system row", async () => {
  const { h, loop } = await started();
  await using _h = h;
  h.write({ id: "m1", content: 'tool:write_file {"path":"notes/a.txt","content":"abc"}' });
  assert.equal(await loop.poll(), "engaged");
  assert.equal(h.server.calls.length, 2, "the tool call, then the turn with its result");
  const fed = h.server.calls[1].body.messages.at(-1).content;
  assert.deepEqual(fed.map((b: { type: string; content: string }) => [b.type, b.content]), [
    ["tool_result", "wrote 3 bytes to notes/a.txt"],
  ]);
  assert.equal(Deno.readTextFileSync(`${h.dir}/workspace/notes/a.txt`), "abc");
  assert.deepEqual(h.outbound().map((o) => o.content), [
    "mock-agent tool result: wrote 3 bytes to notes/a.txt",
  ]);

  const request = { kind: "persona", payload: { instructions: "be terse" }, reason: "asked to" };
  h.write({ id: "m2", content: `tool:request_capability_change ${JSON.stringify(request)}` });
  assert.equal(await loop.poll(), "engaged");
  const [, reply, system] = h.outbound();
  assert.equal(reply.kind, "chat");
  assert.match(reply.content, /^mock-agent tool result: persona change submitted for human approval/);
  assert.equal(system.kind, "system");
  assert.ok(system.seq > reply.seq);
  assert.deepEqual([system.channelType, system.platformId], ["slack", "C123"]);
  const envelope = parseSystemAction(system.content);
  assert.equal(envelope.action, "persona");
  assert.deepEqual(envelope.payload, { instructions: "be terse" });
  assert.equal(h.outbound().length, 3, "one reply and one system row, nothing applied in the sandbox");
});

Deno.test("loop: the answered ids and the waiting messages survive an agent restart", async () => {
  const { h, loop } = await started();
  await using _h = h;
  h.write({ id: "m1", content: "first" });
  assert.equal(await loop.poll(), "engaged");
  h.write({ id: "m2", content: "second", trigger: 0 });
  assert.equal(await loop.poll(), "accumulating");
  // What survives is in the queues: m1's acknowledgement says it was answered, m2 waits in inbound.
  assert.deepEqual(h.acks().map((a) => [a.messageId, a.status]), [["m1", "completed"]]);

  // A new agent on freshly opened queues; the host still lists m1 as pending (it lags).
  const restarted = h.loop();
  assert.equal(await restarted.poll(), "engaged", "the waiting message is drained on the first poll");
  assert.deepEqual(
    h.logs().filter((l) => l.event === "state.restored").map((l) => [l.buffered, l.done]),
    [[0, 0], [0, 1]],
  );
  assert.equal(h.server.calls.length, 2);
  assert.equal(promptOf(h.server.calls[1]), "second", "m1 is not answered again, m2 once");
  assert.deepEqual(h.outbound().map((o) => o.inReplyTo), ["m1", "m2"]);
  assert.equal(await restarted.poll(), "idle");
});

Deno.test("loop: provider failures back off exponentially, trip the breaker, and recover with one reply", async () => {
  const failures = 4;
  const breaker = new ModelBreaker({ baseMs: 10, capMs: 40, threshold: 3, random: () => 0 });
  const h = await LoopHarness.start({
    breaker,
    pollMs: 20,
    respond: (_call, index) =>
      index < failures ? anthropicError(529, "overloaded_error", "Overloaded") : undefined,
  });
  await using _h = h;
  h.write({ id: "m1", content: "are you there?" });
  const stop = new AbortController();
  const running = h.loop().run(stop.signal);
  try {
    for (let i = 0; i < 500 && h.outbound().length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  } finally {
    stop.abort();
    await running;
  }
  const logs = h.logs();
  const failed = logs.filter((l) => l.event === "model.failed");
  assert.equal(failed.length, failures, JSON.stringify(logs));
  // Equal jitter at its lower bound (random 0): half of base·2^(n-1), capped; once open, the cap.
  assert.deepEqual(failed.map((l) => l.retry_ms), [5, 10, 20, 20]);
  assert.ok(failed.every((l) => l.status === 529), JSON.stringify(failed));
  assert.equal(
    logs.filter((l) => l.event === "model.breaker_open").length,
    1,
    "opened once, at the threshold",
  );
  assert.equal(logs.find((l) => l.event === "model.breaker_open")?.failures, 3);
  assert.equal(logs.filter((l) => l.event === "model.recovered").length, 1);
  assert.equal(breaker.failures, 0, "a success resets the breaker");
  assert.equal(
    h.server.calls.length,
    failures + 1,
    "each retry is one call: the SDK does not retry on its own",
  );
  assert.deepEqual(h.outbound().map((o) => [o.inReplyTo, o.content]), [[
    "m1",
    "mock-agent received: are you there?",
  ]]);
});
