/**
 * The agent's history as one row per exchange (`sandbox-agent/loop/state.ts`): a reply writes one row, in
 * the slot of the exchange it pushes out; an older agent's whole-history value loads and converts.
 */
import assert from "node:assert/strict";
import { openOutboundWriter } from "../../contract/queue/sandbox.ts";
import { contentText, type ModelCall } from "../support/agent_model_server.ts";
import { LoopHarness } from "../support/agent_loop_harness.ts";
import { fixedKey, LIBRARY } from "../support/mod.ts";
import { STATE_KEYS } from "../../sandbox-agent/loop/mod.ts";

const OPTS = { library: LIBRARY, key: fixedKey(0x11) };

/** The user texts a model call carried, history first. */
function userTexts(call: ModelCall): string[] {
  return call.body.messages.filter((m: { role: string }) => m.role === "user").map((
    m: { content: unknown },
  ) => contentText(m.content));
}

Deno.test("state: each reply writes one history row, in the slot of the one it pushes out; a restart reads them back", async () => {
  await using h = await LoopHarness.start({
    historyLimits: { maxExchanges: 2, maxBytes: 256 * 1024, maxToolResultChars: 4096 },
  });
  const loop = h.loop();
  for (const [i, text] of ["one", "two", "three"].entries()) {
    h.write({ id: `m${i}`, content: text });
    assert.equal(await loop.poll(), "engaged");
  }
  const keys = Object.keys(h.state()).filter((k) => k.startsWith(STATE_KEYS.historyPrefix)).sort();
  assert.deepEqual(
    keys,
    [`${STATE_KEYS.historyPrefix}0`, `${STATE_KEYS.historyPrefix}1`],
    "the third took the first's slot",
  );
  assert.deepEqual(h.history().map((e) => contentText(e[0].content)), ["two", "three"]);
  assert.equal(h.state()[STATE_KEYS.legacyHistory], undefined);

  const restarted = h.loop();
  h.write({ id: "m3", content: "four" });
  assert.equal(await restarted.poll(), "engaged");
  assert.deepEqual(userTexts(h.server.calls[3]), ["two", "three", "four"], "the restored history rode along");
  assert.deepEqual(h.history().map((e) => contentText(e[0].content)), ["three", "four"]);
});

Deno.test("state: a whole-history value saved by an older agent is loaded, then converted to rows at the next reply", async () => {
  await using h = await LoopHarness.start();
  const old = [[
    { role: "user", content: [{ type: "text", text: "from before" }] },
    { role: "assistant", content: [{ type: "text", text: "noted" }] },
  ]];
  {
    using outbound = openOutboundWriter(h.paths.outbound, OPTS);
    outbound.putSessionState(STATE_KEYS.legacyHistory, JSON.stringify(old));
  }
  const loop = h.loop();
  h.write({ id: "m1", content: "hello" });
  assert.equal(await loop.poll(), "engaged");
  assert.deepEqual(userTexts(h.server.calls[0]), ["from before", "hello"], "the old history rode along");
  assert.equal(h.state()[STATE_KEYS.legacyHistory], undefined, "the whole-history value is gone");
  assert.deepEqual(h.history().map((e) => contentText(e[0].content)), ["from before", "hello"]);

  const restarted = h.loop();
  h.write({ id: "m2", content: "again" });
  assert.equal(await restarted.poll(), "engaged");
  assert.deepEqual(userTexts(h.server.calls[1]), ["from before", "hello", "again"]);
});

Deno.test("state: an unreadable history row is reported, left out of the prompt, and its slot reused at the next save", async () => {
  await using h = await LoopHarness.start();
  const loop = h.loop();
  h.write({ id: "m1", content: "one" });
  assert.equal(await loop.poll(), "engaged");
  {
    using outbound = openOutboundWriter(h.paths.outbound, OPTS);
    outbound.putSessionState(`${STATE_KEYS.historyPrefix}0`, "not json");
  }
  const restarted = h.loop();
  assert.equal(await restarted.poll(), "idle");
  assert.ok(h.logs().some((l) => l.event === "state.unreadable"), "the bad row is reported");
  h.write({ id: "m2", content: "two" });
  assert.equal(await restarted.poll(), "engaged");
  assert.deepEqual(userTexts(h.server.calls[1]), ["two"], "the unreadable row is left out");
  assert.deepEqual(h.history().map((e) => contentText(e[0].content)), ["two"], "its slot was reused");
  assert.deepEqual(Object.keys(h.state()).filter((k) => k.startsWith(STATE_KEYS.historyPrefix)), [
    `${STATE_KEYS.historyPrefix}0`,
  ]);
});
