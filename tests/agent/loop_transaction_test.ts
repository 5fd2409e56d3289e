/**
 * The loop's lease turns commit as one transaction each: a turn that fails
 * part-way leaves neither the outbound file nor the loop's memory
 * half-updated, and the next poll retries the whole turn.
 */
import assert from "node:assert/strict";
import { openInboundReader, openOutboundWriter, type OutboundWriter } from "../../contract/queue/sandbox.ts";
import { LoopHarness } from "../support/agent_loop_harness.ts";
import { fixedKey, LIBRARY } from "../support/mod.ts";
import { jsonLogger } from "../../sandbox-agent/log.ts";
import { createModelClient } from "../../sandbox-agent/model/mod.ts";
import { builtinRegistry, Jail } from "../../sandbox-agent/tools/mod.ts";
import { AgentLoop, Heartbeat, STATE_KEYS, systemPrompt } from "../../sandbox-agent/loop/mod.ts";

const OPTS = { library: LIBRARY, key: fixedKey(0x11) };

/** `outbound` whose next save of a key starting with `prefix` fails once, like a full disk in the middle of a turn. */
function failingOnce(outbound: OutboundWriter, prefix: string): OutboundWriter {
  let armed = true;
  return new Proxy(outbound, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop === "putSessionState") {
        return (k: string, v: string) => {
          if (armed && k.startsWith(prefix)) {
            armed = false;
            throw new Error("disk full");
          }
          return target.putSessionState(k, v);
        };
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

Deno.test("loop: a reply turn that fails part-way writes nothing, and the next poll answers once", async () => {
  await using h = await LoopHarness.start();
  using inbound = openInboundReader(h.paths.inbound, OPTS);
  using outbound = openOutboundWriter(h.paths.outbound, OPTS);
  const log = jsonLogger((line) => h.logLines.push(line));
  const loop = new AgentLoop({
    inbound,
    outbound: failingOnce(outbound, STATE_KEYS.historyPrefix),
    model: createModelClient({ provider: "mock", socketPath: `${h.dir}/model.sock` }),
    tools: builtinRegistry(),
    systemPrompt: systemPrompt(""),
    workspace: new Jail(`${h.dir}/workspace`),
    memory: new Jail(`${h.dir}/memory`),
    persona: "",
    heartbeat: new Heartbeat(h.paths.heartbeat, { log }),
    log,
    pollMs: 1000,
  });
  h.write({ id: "m1", content: "hello" });

  // The reply turn writes the reply, then the history save fails: the whole turn rolls back.
  await assert.rejects(() => loop.poll(), /disk full/);
  assert.deepEqual(h.outbound(), [], "the reply written before the failure was rolled back");
  assert.deepEqual(h.acks().map((a) => [a.messageId, a.status]), [["m1", "processing"]]);
  assert.deepEqual(h.history(), []);

  // The loop's memory rolled back too: m1 is still buffered and the engagement is retried.
  assert.equal(await loop.poll(), "engaged");
  assert.equal(h.server.calls.length, 2, "the model was asked again");
  assert.deepEqual(h.outbound().map((o) => [o.inReplyTo, o.content]), [["m1", "mock-agent received: hello"]]);
  assert.deepEqual(h.acks().map((a) => [a.messageId, a.status]), [["m1", "completed"]]);
  assert.equal(h.history().length, 1, "one history row: the rolled-back one was not counted as written");
  assert.equal(await loop.poll(), "idle", "answered once");
});
