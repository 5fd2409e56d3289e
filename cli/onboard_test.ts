import assert from "node:assert/strict";
import OpenAI from "openai";
import type { SessionId } from "../contract/ids.ts";
import { ModelProxy } from "../src/model_proxy/mod.ts";
import { modelProxyOptions, readModelConfig, writeModelConfig } from "../src/control_plane/mod.ts";
import { checkModelCredentials, describeCheck } from "./doctor.ts";
import { unixSocketFetch } from "../tests/support/model_proxy_unix_fetch.ts";
import { tempDir } from "../tests/support/mod.ts";
import { captureIo } from "./output.ts";
import { runCli } from "./program.ts";
import { servedFakePlane } from "../tests/support/served_plane.ts";

/** A local OpenAI-compatible server (as Ollama or llama.cpp serve it): chat completions, recorded. */
function fakeOpenAiServer() {
  const calls: { path: string; auth: string | null; body: { model: string; messages: unknown[] } }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    if (req.method !== "POST" || path !== "/v1/chat/completions") {
      return new Response("not found", { status: 404 });
    }
    const body = await req.json();
    calls.push({ path, auth: req.headers.get("authorization"), body });
    if (body.model !== "llama3.2") {
      return Response.json({ error: { message: `model "${body.model}" not found`, type: "not_found" } }, {
        status: 404,
      });
    }
    return Response.json({
      id: "chatcmpl-1",
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [{
        index: 0,
        message: { role: "assistant", content: "OK" },
        finish_reason: "stop",
        logprobs: null,
      }],
      usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
    });
  });
  return { calls, url: `http://127.0.0.1:${server.addr.port}`, server };
}

Deno.test("onboard --non-interactive against a local OpenAI-compatible server configures a working agent; doctor checks the provider", async () => {
  const fake = fakeOpenAiServer();
  try {
    await using s = await servedFakePlane();
    const base = ["onboard", "--non-interactive", "--provider", "local", "--base-url", fake.url, ...s.flags];

    // A model the server does not have: refused, with the fix, and nothing saved.
    const wrong = captureIo();
    assert.equal(await runCli([...base, "--model", "nope"], wrong), 1);
    assert.match(
      wrong.stderr.join("\n"),
      /model check failed: .* does not know model nope \(404\): pass another --model/,
    );
    assert.equal(readModelConfig(s.stateDir), undefined);

    const io = captureIo();
    assert.equal(
      await runCli([
        ...base,
        "--model",
        "llama3.2",
        "--template",
        "assistant",
        "--telegram-token-env",
        "MY_BOT",
      ], io),
      0,
      io.stderr.join("\n"),
    );
    const out = io.stdout.join("\n");
    assert.match(out, /model ok: llama3\.2 answered/);
    assert.match(out, /approved chg_\S+: agent assistant is ready/);
    assert.match(out, /ironclaw channel add telegram --token-env MY_BOT/);
    assert.match(out, /ironclaw chat assistant --state-dir /);
    assert.equal(fake.calls.length, 2);
    assert.equal(fake.calls[1].body.model, "llama3.2");

    // The agent exists, approved through the gateway, on the chosen model.
    const agent = s.plane.registry.listAgentGroups().find((g) => g.id === "assistant");
    assert.ok(agent, "agent created");
    assert.equal(agent.provider, "openai");
    assert.equal(agent.model, "llama3.2");

    // What serve builds from model.json sends the agent's calls (addressed to api.openai.com) to the local server.
    const config = readModelConfig(s.stateDir);
    assert.deepEqual(config, { provider: "openai", model: "llama3.2", baseUrl: fake.url });
    const proxy = new ModelProxy(modelProxyOptions(config!, new Map()));
    using dir = tempDir();
    const socket = `${dir.path}/model.sock`;
    await proxy.openSession("ses_onboard" as SessionId, socket);
    try {
      using transport = unixSocketFetch(socket);
      const agentSide = new OpenAI({
        apiKey: "unused",
        baseURL: "http://api.openai.com/v1",
        fetch: transport.fetch,
      });
      const reply = await agentSide.chat.completions.create({
        model: "llama3.2",
        messages: [{ role: "user", content: "hello" }],
      });
      assert.equal(reply.choices[0].message.content, "OK");
      assert.equal(fake.calls.length, 3);
    } finally {
      await proxy.close();
    }

    // doctor makes the same one call per configured provider; red with the fix in one line.
    assert.deepEqual(await checkModelCredentials(s.stateDir, new Map()), [{
      name: "model-key",
      ok: true,
      detail: `openai llama3.2 at ${fake.url} answered (key from $OPENAI_API_KEY)`,
    }]);
    assert.equal(fake.calls.length, 4);
    await writeModelConfig(s.stateDir, {
      provider: "anthropic",
      model: "claude-x",
      keyEnv: "IRONCLAW_TEST_UNSET_KEY",
    });
    const [red] = await checkModelCredentials(s.stateDir, new Map());
    assert.equal(red.ok, false);
    assert.equal(
      describeCheck(red),
      "FAIL  model-key    anthropic claude-x: $IRONCLAW_TEST_UNSET_KEY is not set — fix: export IRONCLAW_TEST_UNSET_KEY=<your anthropic key> where serve runs",
    );
  } finally {
    await fake.server.shutdown();
  }
});
