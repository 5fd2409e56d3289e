/**
 * The loop's lease turns commit as one transaction each: a turn that fails
 * part-way leaves neither the outbound file nor the loop's memory
 * half-updated, and the next poll retries the whole turn. The engage turn
 * sends its model request before its commit, and nothing the model answers
 * is acted on before that commit.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { openInboundReader, openOutboundWriter, type OutboundWriter } from "../../contract/queue/sandbox.ts";
import { LoopHarness } from "../support/agent_loop_harness.ts";
import { fixedKey, LIBRARY } from "../support/mod.ts";
import { jsonLogger } from "../../sandbox-agent/log.ts";
import { createModelClient, type ModelClient, type Turn } from "../../sandbox-agent/model/mod.ts";
import { builtinRegistry, defineTool, Jail, type ToolRegistry } from "../../sandbox-agent/tools/mod.ts";
import { AgentLoop, Heartbeat, STATE_KEYS, systemPrompt } from "../../sandbox-agent/loop/mod.ts";

const OPTS = { library: LIBRARY, key: fixedKey(0x11) };

/** `outbound` whose next `method` call matching `matches` fails once, like a full disk in the middle of a turn. */
function failingOnce<M extends "putSessionState" | "markProcessing">(
  outbound: OutboundWriter,
  { method, matches = () => true }: {
    method: M;
    matches?: (...args: Parameters<OutboundWriter[M]>) => boolean;
  },
): OutboundWriter {
  let armed = true;
  return new Proxy(outbound, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop === method) {
        return (...args: Parameters<OutboundWriter[M]>) => {
          if (armed && matches(...args)) {
            armed = false;
            throw new Error("disk full");
          }
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** A loop over `h`'s queues (opened by the caller) with `model` and `tools`. */
function loopOver(
  h: LoopHarness,
  queues: { inbound: ReturnType<typeof openInboundReader>; outbound: OutboundWriter },
  { model, tools }: { model?: ModelClient; tools?: ToolRegistry } = {},
): AgentLoop {
  const log = jsonLogger((line) => h.logLines.push(line));
  return new AgentLoop({
    ...queues,
    model: model ?? createModelClient({ provider: "mock", socketPath: `${h.dir}/model.sock` }),
    tools: tools ?? builtinRegistry(),
    systemPrompt: systemPrompt(""),
    workspace: new Jail(`${h.dir}/workspace`),
    memory: new Jail(`${h.dir}/memory`),
    persona: "",
    heartbeat: new Heartbeat(h.paths.heartbeat, { log }),
    log,
    pollMs: 1000,
  });
}

Deno.test("loop: a reply turn that fails part-way writes nothing, and the next poll answers once", async () => {
  await using h = await LoopHarness.start();
  using inbound = openInboundReader(h.paths.inbound, OPTS);
  using outbound = openOutboundWriter(h.paths.outbound, OPTS);
  const loop = loopOver(h, {
    inbound,
    outbound: failingOnce(outbound, {
      method: "putSessionState",
      matches: (key) => key.startsWith(STATE_KEYS.historyPrefix),
    }),
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

Deno.test("loop: the model request goes out before the engage commit; no answer is acted on before that commit", async () => {
  await using h = await LoopHarness.start();
  using inbound = openInboundReader(h.paths.inbound, OPTS);
  using outbound = openOutboundWriter(h.paths.outbound, OPTS);
  const acks = () => `[${h.acks().map((a) => `${a.messageId} ${a.status}`)}]`;
  const seen: string[] = [];
  // A model that answers at once, sooner than any commit: first with a call of `probe`, then with text.
  const answers: Turn[] = [
    { content: [{ type: "tool_use", id: "t1", name: "probe", input: {} }], stopReason: "tool_use" },
    { content: [{ type: "text", text: "done" }], stopReason: "end_turn" },
  ];
  const model: ModelClient = {
    provider: "mock",
    model: "instant",
    converse: (_request, options) => {
      seen.push(`asked, acks ${acks()}`);
      options?.onSent?.();
      return Promise.resolve(answers.shift()!);
    },
  };
  const probe = defineTool({
    name: "probe",
    description: "records the acknowledgements when it runs",
    input: z.object({}),
    invoke: () => {
      seen.push(`tool ran, acks ${acks()}`);
      return { text: "ok" };
    },
  });
  const loop = loopOver(h, { inbound, outbound }, { model, tools: builtinRegistry([]).with([probe]) });
  h.write({ id: "m1", content: "hello" });

  assert.equal(await loop.poll(), "engaged");
  assert.deepEqual(seen, [
    "asked, acks []",
    "tool ran, acks [m1 processing]",
    "asked, acks [m1 processing]",
  ]);
  assert.deepEqual(h.outbound().map((o) => [o.inReplyTo, o.content]), [["m1", "done"]]);
  assert.equal(acks(), "[m1 completed]");
});

Deno.test("loop: a failed engage commit fails the turn: the model's answer is discarded, the batch kept, then answered once", async () => {
  await using h = await LoopHarness.start();
  using inbound = openInboundReader(h.paths.inbound, OPTS);
  using outbound = openOutboundWriter(h.paths.outbound, OPTS);
  const mock = createModelClient({ provider: "mock", socketPath: `${h.dir}/model.sock` });
  const asked: string[] = [];
  const model: ModelClient = {
    ...mock,
    converse: (request, options) => {
      const call = mock.converse(request, options);
      call.then(() => asked.push("answered"), (err) => asked.push(`failed: ${err.kind}`));
      return call;
    },
  };
  const loop = loopOver(h, { inbound, outbound: failingOnce(outbound, { method: "markProcessing" }) }, {
    model,
  });
  h.write({ id: "m1", content: "hello" });

  // The request went out, then the commit failed: the call is aborted and nothing is written.
  await assert.rejects(() => loop.poll(), /disk full/);
  assert.deepEqual(asked, ["failed: aborted"]);
  assert.deepEqual(h.outbound(), []);
  assert.deepEqual(h.acks(), []);

  assert.equal(await loop.poll(), "engaged");
  assert.deepEqual(asked, ["failed: aborted", "answered"]);
  assert.deepEqual(h.outbound().map((o) => [o.inReplyTo, o.content]), [["m1", "mock-agent received: hello"]]);
  assert.deepEqual(h.acks().map((a) => [a.messageId, a.status]), [["m1", "completed"]]);
  assert.equal(await loop.poll(), "idle", "answered once");
});
