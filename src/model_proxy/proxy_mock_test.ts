/** The built-in mock, reached through the proxy by the official SDKs, as the sandbox does. */
import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { MOCK_MODEL_HOST } from "../../contract/sockets.ts";
import type { SessionId } from "../../contract/ids.ts";
import { tempDir } from "../../tests/support/mod.ts";
import { unixSocketFetch } from "../../tests/support/model_proxy_unix_fetch.ts";
import { type ModelCallRecord, ModelProxy } from "./mod.ts";

async function withMock(
  test: (sdk: { anthropic: Anthropic; openai: OpenAI; audit: ModelCallRecord[] }) => Promise<void>,
): Promise<void> {
  using dir = tempDir();
  const audit: ModelCallRecord[] = [];
  const proxy = new ModelProxy({ credentials: () => undefined, onAudit: (r) => audit.push(r) });
  const socket = `${dir.path}/sock/model.sock`;
  await proxy.openSession("ses_mock" as SessionId, socket);
  try {
    using unix = unixSocketFetch(socket);
    const common = { apiKey: "sandbox-placeholder", fetch: unix.fetch, maxRetries: 0 };
    await test({
      anthropic: new Anthropic({ ...common, baseURL: `http://${MOCK_MODEL_HOST}` }),
      openai: new OpenAI({ ...common, baseURL: `http://${MOCK_MODEL_HOST}/v1` }),
      audit,
    });
  } finally {
    await proxy.close();
  }
}

const echoTool = {
  name: "echo_upper",
  description: "Upper-cases text",
  input_schema: { type: "object" as const, properties: { text: { type: "string" } } },
};
const openaiEcho = {
  type: "function" as const,
  function: { name: echoTool.name, description: echoTool.description, parameters: echoTool.input_schema },
};

Deno.test("anthropic: text, tool use and tool result, streaming and not", () =>
  withMock(async ({ anthropic, audit }) => {
    const text = await anthropic.messages.create({
      model: "mock",
      max_tokens: 64,
      messages: [{ role: "user", content: "  hello there \n" }],
    });
    assert.deepEqual(text.content, [{ type: "text", text: "mock-agent received: hello there" }]);
    assert.equal(text.stop_reason, "end_turn");
    assert.ok(text.usage.input_tokens > 0 && text.usage.output_tokens > 0);

    const ask = { role: "user" as const, content: 'tool:echo_upper {"text":"ping"}' };
    const call = await anthropic.messages.create({
      model: "mock",
      max_tokens: 64,
      messages: [ask],
      tools: [echoTool],
    });
    assert.deepEqual(call.content, [{
      type: "tool_use",
      id: "mocktool_1",
      name: "echo_upper",
      input: { text: "ping" },
    }]);
    assert.equal(call.stop_reason, "tool_use");

    const streamedCall = await anthropic.messages
      .stream({ model: "mock", max_tokens: 64, messages: [ask], tools: [echoTool] })
      .finalMessage();
    assert.deepEqual(streamedCall.content, call.content, "input_json_delta pieces reassemble");
    assert.equal(streamedCall.stop_reason, "tool_use");

    const messages: Anthropic.MessageParam[] = [
      ask,
      { role: "assistant", content: call.content },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "mocktool_1", content: "PING" }] },
    ];
    const result = await anthropic.messages.create({
      model: "mock",
      max_tokens: 64,
      messages,
      tools: [echoTool],
    });
    assert.deepEqual(result.content, [{ type: "text", text: "mock-agent tool result: PING" }]);

    const events: string[] = [];
    const stream = anthropic.messages.stream({
      model: "mock",
      max_tokens: 64,
      messages: [{ role: "user", content: "one two three" }],
    });
    stream.on("streamEvent", (event) => events.push(event.type));
    const streamed = await stream.finalMessage();
    assert.deepEqual(streamed.content, [{ type: "text", text: "mock-agent received: one two three" }]);
    assert.deepEqual(events, [
      "message_start",
      "content_block_start",
      ...Array(5).fill("content_block_delta"),
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    assert.ok(audit.every((r) => r.host === MOCK_MODEL_HOST && r.allowed && r.status === 200));
  }));

Deno.test("anthropic: an invalid request gets the provider's 400 error", () =>
  withMock(async ({ anthropic }) => {
    const error = await anthropic.messages
      .create({ model: "mock", max_tokens: 0, messages: [{ role: "user", content: "hi" }] })
      .catch((e) => e);
    assert.ok(error instanceof Anthropic.BadRequestError);
    assert.equal(error.status, 400);
    assert.match(JSON.stringify(error.error), /"type":"invalid_request_error".*max_tokens/);
  }));

Deno.test("openai: text, tool call and tool result, streaming and not", () =>
  withMock(async ({ openai }) => {
    const text = await openai.chat.completions.create({
      model: "mock",
      messages: [{ role: "system", content: "be brief" }, {
        role: "user",
        content: [{ type: "text", text: " hi " }],
      }],
    });
    assert.equal(text.choices[0].message.content, "mock-agent received: hi");
    assert.equal(text.choices[0].finish_reason, "stop");
    assert.ok(text.usage!.total_tokens > text.usage!.prompt_tokens);

    const ask = { role: "user" as const, content: 'tool:echo_upper {"text":"ping"}' };
    const call = await openai.chat.completions.create({
      model: "mock",
      messages: [ask],
      tools: [openaiEcho],
    });
    const toolCalls = call.choices[0].message.tool_calls!;
    assert.deepEqual(toolCalls, [
      { id: "mocktool_1", type: "function", function: { name: "echo_upper", arguments: '{"text":"ping"}' } },
    ]);
    assert.equal(call.choices[0].finish_reason, "tool_calls");

    const streamedCall = await openai.chat.completions
      .stream({ model: "mock", messages: [ask], tools: [openaiEcho] })
      .finalChatCompletion();
    assert.deepEqual(streamedCall.choices[0].message.tool_calls, toolCalls);
    assert.equal(streamedCall.choices[0].finish_reason, "tool_calls");

    const result = await openai.chat.completions.create({
      model: "mock",
      messages: [ask, { role: "assistant", tool_calls: toolCalls }, {
        role: "tool",
        tool_call_id: "mocktool_1",
        content: "PING",
      }],
      tools: [openaiEcho],
    });
    assert.equal(result.choices[0].message.content, "mock-agent tool result: PING");

    const chunks = await openai.chat.completions.create({
      model: "mock",
      messages: [{ role: "user", content: "one two three" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let streamed = "";
    let usage = 0;
    let pieces = 0;
    for await (const chunk of chunks) {
      const delta = chunk.choices[0]?.delta.content;
      if (delta) pieces++, streamed += delta;
      usage += chunk.usage?.total_tokens ?? 0;
    }
    assert.equal(streamed, "mock-agent received: one two three");
    assert.equal(pieces, 5);
    assert.ok(usage > 0);
  }));

Deno.test("openai: an invalid request gets the provider's 400 error", () =>
  withMock(async ({ openai }) => {
    const error = await openai.chat.completions.create({ model: "mock", messages: [] }).catch((e) => e);
    assert.ok(error instanceof OpenAI.BadRequestError);
    assert.equal(error.status, 400);
    assert.equal(error.type, "invalid_request_error");
    assert.match(error.message, /messages/);
  }));
