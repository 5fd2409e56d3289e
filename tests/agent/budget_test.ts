/**
 * A spent budget, end to end from the proxy to the agent's model client: the
 * host's model proxy refuses over budget and the real SDKs surface it as a
 * `budget_exceeded` ModelError carrying the proxy's notice word for word.
 */
import assert from "node:assert/strict";
import type { SessionId } from "../../contract/ids.ts";
import { MODEL_BUDGET_ERROR, type ProviderKind } from "../../contract/sockets.ts";
import { createModelClient, ModelError, userText } from "../../sandbox-agent/model/mod.ts";
import { ModelProxy, type ModelUsage } from "../../src/model_proxy/mod.ts";
import { fixedKey, LIBRARY, tempDir } from "../support/mod.ts";
import { openInboundReader, openOutboundWriter } from "../../contract/queue/sandbox.ts";
import { LoopHarness } from "../support/agent_loop_harness.ts";
import { jsonLogger } from "../../sandbox-agent/log.ts";
import { builtinRegistry, Jail } from "../../sandbox-agent/tools/mod.ts";
import { AgentLoop, Heartbeat, systemPrompt } from "../../sandbox-agent/loop/mod.ts";

const OPTS = { library: LIBRARY, key: fixedKey(0x11) };

const NOTICE = "The daily model budget of agent ag_x is spent: 120 of its 100 tokens today. It resets at …";

Deno.test("over budget the proxy refuses before the upstream and both SDKs hand the agent the notice", async () => {
  using dir = tempDir();
  const counted: ModelUsage[] = [];
  let spent = false;
  const proxy = new ModelProxy({
    credentials: (host) => host === "api.openai.com" ? "sk-never-sent" : undefined,
    usage: { record: (_session, usage) => counted.push(usage), refusal: () => spent ? NOTICE : undefined },
  });
  const socketPath = `${dir.path}/model.sock`;
  await proxy.openSession("ses_budget" as SessionId, socketPath);
  try {
    const mock = createModelClient({ provider: "mock", socketPath });
    const request = { system: "be brief", messages: [userText("hello")], tools: [] };
    await mock.converse(request);
    assert.equal(counted.length, 1, "the call under budget was counted");
    spent = true;
    for (const provider of ["mock", "openai"] as ProviderKind[]) {
      const client = createModelClient({ provider, socketPath });
      await assert.rejects(() => client.converse(request), (err: unknown) => {
        assert.ok(err instanceof ModelError);
        assert.equal(err.kind, MODEL_BUDGET_ERROR.type);
        assert.equal(err.status, MODEL_BUDGET_ERROR.status);
        assert.equal(err.message, NOTICE);
        return true;
      });
    }
    assert.equal(counted.length, 1, "refused calls reached no upstream and cost nothing");
  } finally {
    await proxy.close();
  }
});

Deno.test("loop: a budget refusal answers the conversation with the notice, final for the turn, no retry", async () => {
  await using h = await LoopHarness.start();
  using inbound = openInboundReader(h.paths.inbound, OPTS);
  using outbound = openOutboundWriter(h.paths.outbound, OPTS);
  const log = jsonLogger((line) => h.logLines.push(line));
  let calls = 0;
  const loop = new AgentLoop({
    inbound,
    outbound,
    model: {
      provider: "mock",
      model: "mock-agent",
      converse: () => {
        calls++;
        return Promise.reject(new ModelError(NOTICE, MODEL_BUDGET_ERROR.type, MODEL_BUDGET_ERROR.status));
      },
    },
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
  assert.equal(await loop.poll(), "engaged");
  assert.deepEqual(h.outbound().map((o) => [o.inReplyTo, o.content]), [["m1", NOTICE]]);
  assert.deepEqual(h.acks().map((a) => [a.messageId, a.status]), [["m1", "completed"]]);
  assert.deepEqual(h.history(), [], "the refused turn is not history");
  assert.equal(await loop.poll(), "idle", "the turn is over: no retry");
  assert.equal(calls, 1);
});
