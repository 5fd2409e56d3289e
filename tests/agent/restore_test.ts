/**
 * What a restarted agent resumes from (`AgentLoop`'s restore): its own
 * acknowledgements say what it was answering (`processing`) and what it had
 * answered (`completed`), so no turn saves the buffer or the answered ids
 * besides; an older agent's saved values are read, merged and deleted.
 */
import assert from "node:assert/strict";
import { openInboundReader, openOutboundWriter } from "../../contract/queue/sandbox.ts";
import { STATE_KEYS } from "../../sandbox-agent/loop/mod.ts";
import { anthropicError } from "../support/agent_model_server.ts";
import { LoopHarness } from "../support/agent_loop_harness.ts";
import { fixedKey, LIBRARY } from "../support/mod.ts";

const OPTS = { library: LIBRARY, key: fixedKey(0x11) };

for (const mirrored of [true, false]) {
  Deno.test(`restore: a message being answered when the agent stopped is answered once by the next (host ${mirrored ? "mirrored" : "did not mirror"} it as processing)`, async () => {
    // The first model call fails: the agent stops there, m1 acknowledged as processing and not answered.
    await using h = await LoopHarness.start({
      respond: (_call, index) => index === 0 ? anthropicError(500, "api_error", "down") : undefined,
    });
    const first = h.loop();
    h.write({ id: "m1", content: "hello" });
    await assert.rejects(() => first.poll());
    assert.deepEqual(h.acks().map((a) => [a.messageId, a.status]), [["m1", "processing"]]);
    if (mirrored) h.host.advanceStatuses([{ messageId: "m1", status: "processing" }]);

    const restarted = h.loop();
    assert.equal(await restarted.poll(), "engaged");
    assert.deepEqual(h.outbound().map((o) => [o.inReplyTo, o.content]), [[
      "m1",
      "mock-agent received: hello",
    ]]);
    assert.deepEqual(h.acks().map((a) => [a.messageId, a.status]), [["m1", "completed"]]);
    assert.deepEqual(
      h.logs().filter((l) => l.event === "state.restored").map((l) => [l.buffered, l.done]),
      [[0, 0], [1, 0]],
      "its acknowledgement brings it back into the buffer, whatever inbound's status says",
    );
    assert.equal(await restarted.poll(), "idle", "answered once");
    assert.deepEqual(Object.keys(h.state()).filter((k) => !k.startsWith(STATE_KEYS.historyPrefix)), []);
  });
}

Deno.test("restore: an older agent's buffer and answered ids are taken in, and deleted by the next commit", async () => {
  await using h = await LoopHarness.start();
  h.write({ id: "m1", content: "answered before" });
  h.write({ id: "m2", content: "waiting", trigger: 0 });
  const m2 = (() => {
    using inbound = openInboundReader(h.paths.inbound, OPTS);
    return inbound.pendingMessages().find((m) => m.id === "m2");
  })();
  {
    // As an agent before 2026-12-07 left it: m1 answered (its id saved, no acknowledgement), m2 buffered.
    using outbound = openOutboundWriter(h.paths.outbound, OPTS);
    outbound.putSessionState(STATE_KEYS.legacyDoneIds, JSON.stringify(["m1"]));
    outbound.putSessionState(STATE_KEYS.legacyBuffer, JSON.stringify([m2]));
  }
  const loop = h.loop();
  assert.equal(await loop.poll(), "engaged");
  assert.deepEqual(
    h.logs().filter((l) => l.event === "state.restored").map((l) => [l.buffered, l.done]),
    [[1, 1]],
  );
  assert.deepEqual(h.server.calls.length, 1);
  assert.deepEqual(h.outbound().map((o) => [o.inReplyTo, o.content]), [[
    "m2",
    "mock-agent received: waiting",
  ]]);
  const state = h.state();
  assert.equal(state[STATE_KEYS.legacyBuffer], undefined, "the older agent's buffer is gone");
  assert.equal(state[STATE_KEYS.legacyDoneIds], undefined, "and its answered ids");
  assert.equal(await loop.poll(), "idle", "m1 is not answered");
});
