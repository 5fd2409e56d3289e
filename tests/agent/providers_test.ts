/** The model backends through the real SDKs, against a fake model server on a unix socket. */
import assert from "node:assert/strict";
import { MOCK_MODEL_HOST } from "../../contract/sockets.ts";
import { anthropicError, serveFakeModel } from "../support/agent_model_server.ts";
import { deadline, tempDir } from "../support/mod.ts";
import {
  type ConverseRequest,
  createModelClient,
  fromOpenAIChoice,
  ModelError,
  PLACEHOLDER_API_KEY,
  textOf,
  type ToolSpec,
  toOpenAIMessages,
  userText,
} from "../../sandbox-agent/model/mod.ts";

const ECHO_TOOL: ToolSpec = {
  name: "echo_upper",
  description: "Upper-cases text.",
  input_schema: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
};

function request(text: string, tools: ToolSpec[] = []): ConverseRequest {
  return { system: "be brief", messages: [userText(text)], tools };
}

Deno.test("anthropic: the real SDK reaches the upstream host over the socket with a placeholder key", async () => {
  using dir = tempDir();
  await using server = await serveFakeModel(`${dir.path}/model.sock`);
  const client = createModelClient({
    provider: "anthropic",
    model: "claude-test",
    socketPath: `${dir.path}/model.sock`,
  });
  const turn = await client.converse(request("hello"));
  assert.deepEqual(turn, {
    content: [{ type: "text", text: "mock-agent received: hello" }],
    stopReason: "end_turn",
  });
  const [call] = server.calls;
  assert.equal(call.host, "api.anthropic.com");
  assert.equal(call.path, "/v1/messages");
  // The SDK picks the header (this version sends a bearer token); the proxy strips both kinds.
  const credential = call.headers.get("x-api-key") ?? call.headers.get("authorization") ?? "";
  assert.equal(credential.replace(/^Bearer /, ""), PLACEHOLDER_API_KEY);
  assert.equal(call.body.model, "claude-test");
  assert.equal(call.body.system, "be brief");
  assert.equal(call.body.tools, undefined);
});

Deno.test("mock: the Anthropic wire aimed at the mock host, with tool use", async () => {
  using dir = tempDir();
  await using server = await serveFakeModel(`${dir.path}/model.sock`);
  const client = createModelClient({ provider: "mock", socketPath: `${dir.path}/model.sock` });
  const turn = await client.converse(request('tool:echo_upper {"text":"ping"}', [ECHO_TOOL]));
  assert.equal(turn.stopReason, "tool_use");
  assert.deepEqual(turn.content, [{
    type: "tool_use",
    id: "mocktool_1",
    name: "echo_upper",
    input: { text: "ping" },
  }]);
  assert.equal(server.calls[0].host, MOCK_MODEL_HOST);
  assert.deepEqual(server.calls[0].body.tools, [ECHO_TOOL]);
});

Deno.test("anthropic: API errors and a missing socket become ModelErrors with loggable kinds", async () => {
  using dir = tempDir();
  await using _server = await serveFakeModel(
    `${dir.path}/model.sock`,
    () => anthropicError(429, "rate_limit_error", "slow down"),
  );
  const client = createModelClient({ provider: "anthropic", socketPath: `${dir.path}/model.sock` });
  const limited = await client.converse(request("hi")).catch((e) => e);
  assert.ok(limited instanceof ModelError);
  assert.equal(limited.kind, "rate_limit_error");
  assert.equal(limited.status, 429);

  const absent = createModelClient({ provider: "anthropic", socketPath: `${dir.path}/absent.sock` });
  const unreachable = await absent.converse(request("hi")).catch((e) => e);
  assert.ok(unreachable instanceof ModelError);
  assert.equal(unreachable.kind, "connection");
});

Deno.test("openai and openrouter: hosts, paths, and tool calls translated both ways", async () => {
  using dir = tempDir();
  await using server = await serveFakeModel(`${dir.path}/model.sock`);
  const openai = createModelClient({ provider: "openai", socketPath: `${dir.path}/model.sock` });
  const call = await openai.converse(request('tool:echo_upper {"text":"ping"}', [ECHO_TOOL]));
  assert.deepEqual(call, {
    content: [{ type: "tool_use", id: "mocktool_1", name: "echo_upper", input: { text: "ping" } }],
    stopReason: "tool_use",
  });
  assert.equal(server.calls[0].host, "api.openai.com");
  assert.equal(server.calls[0].path, "/v1/chat/completions");
  assert.deepEqual(server.calls[0].body.tools, [{
    type: "function",
    function: { name: "echo_upper", description: ECHO_TOOL.description, parameters: ECHO_TOOL.input_schema },
  }]);

  const openrouter = createModelClient({ provider: "openrouter", socketPath: `${dir.path}/model.sock` });
  const final = await openrouter.converse({
    system: "s",
    messages: [
      userText("go"),
      { role: "assistant", content: call.content },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "mocktool_1", content: "PING" }] },
    ],
    tools: [ECHO_TOOL],
  });
  assert.deepEqual(final, {
    content: [{ type: "text", text: "mock-agent tool result: PING" }],
    stopReason: "end_turn",
  });
  assert.equal(server.calls[1].host, "openrouter.ai");
  assert.equal(server.calls[1].path, "/api/v1/chat/completions");
  assert.equal(server.calls[1].body.model, "openai/gpt-4o");
});

Deno.test("openai translation: system first, tool results before text, errors marked, bad arguments kept raw", () => {
  assert.deepEqual(
    toOpenAIMessages("sys", [
      userText("hi"),
      {
        role: "assistant",
        content: [{ type: "text", text: "let me look" }, {
          type: "tool_use",
          id: "t1",
          name: "read_file",
          input: { path: "a" },
        }],
      },
      {
        role: "user",
        content: [{ type: "tool_result", tool_use_id: "t1", content: "no such file", is_error: true }, {
          type: "text",
          text: "and?",
        }],
      },
    ]),
    [
      { role: "system", content: "sys" },
      { role: "user", content: "hi" },
      {
        role: "assistant",
        content: "let me look",
        tool_calls: [{
          id: "t1",
          type: "function",
          function: { name: "read_file", arguments: '{"path":"a"}' },
        }],
      },
      { role: "tool", tool_call_id: "t1", content: "error: no such file" },
      { role: "user", content: "and?" },
    ],
  );
  const turn = fromOpenAIChoice({
    index: 0,
    finish_reason: "length",
    logprobs: null,
    message: {
      role: "assistant",
      content: "partial",
      refusal: null,
      tool_calls: [{ id: "c1", type: "function", function: { name: "x", arguments: "{not json" } }],
    },
  });
  assert.deepEqual(turn, {
    content: [{ type: "text", text: "partial" }, {
      type: "tool_use",
      id: "c1",
      name: "x",
      input: "{not json",
    }],
    stopReason: "max_tokens",
  });
});

Deno.test("both SDKs pass a call's onSent to the socket: it is called once the request is written, before the answer", async () => {
  using dir = tempDir();
  let gate = Promise.withResolvers<void>();
  // Every answer waits until the test saw its request reported sent.
  await using _server = await serveFakeModel(`${dir.path}/model.sock`, async () => {
    await gate.promise;
    return undefined;
  });
  try {
    for (const provider of ["anthropic", "openai"] as const) {
      using client = createModelClient({ provider, socketPath: `${dir.path}/model.sock` });
      const sent = Promise.withResolvers<void>();
      let calls = 0;
      const turn = client.converse(request("hello"), {
        onSent: () => {
          calls++;
          sent.resolve();
        },
      });
      await deadline(
        Promise.race([sent.promise, turn.then(() => assert.fail(`${provider}: answered before onSent`))]),
        { what: `${provider}: onSent`, ms: 5000 },
      );
      gate.resolve();
      assert.equal(textOf((await turn).content), "mock-agent received: hello", provider);
      assert.equal(calls, 1, provider);
      gate = Promise.withResolvers<void>();
    }
  } finally {
    // The fake's shutdown waits for its answers: none may be left waiting on the gate.
    gate.resolve();
  }
});
