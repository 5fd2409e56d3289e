/** Usage is read from the upstream's own fields, streaming and not, as the official SDKs see it. */
import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { MOCK_MODEL_HOST } from "../../contract/sockets.ts";
import type { SessionId } from "../../contract/ids.ts";
import { tempDir } from "../../tests/support/mod.ts";
import { unixSocketFetch } from "../../tests/support/model_proxy_unix_fetch.ts";
import { ModelProxy, type ModelUsage } from "./mod.ts";
import { StreamUsage } from "./usage.ts";

async function withCountedMock(
  test: (sdk: { anthropic: Anthropic; openai: OpenAI; counted: ModelUsage[] }) => Promise<void>,
): Promise<void> {
  using dir = tempDir();
  const counted: ModelUsage[] = [];
  const proxy = new ModelProxy({
    credentials: () => undefined,
    usage: {
      record: (session, usage) => {
        assert.equal(session, "ses_usage");
        counted.push(usage);
      },
    },
  });
  const socket = `${dir.path}/model.sock`;
  await proxy.openSession("ses_usage" as SessionId, socket);
  try {
    using unix = unixSocketFetch(socket);
    const common = { apiKey: "sandbox-placeholder", fetch: unix.fetch, maxRetries: 0 };
    await test({
      anthropic: new Anthropic({ ...common, baseURL: `http://${MOCK_MODEL_HOST}` }),
      openai: new OpenAI({ ...common, baseURL: `http://${MOCK_MODEL_HOST}/v1` }),
      counted,
    });
  } finally {
    await proxy.close();
  }
}

const ask = { role: "user" as const, content: "how many tokens is this?" };

Deno.test("anthropic usage is counted from the response, and from message_start/message_delta when streaming", () =>
  withCountedMock(async ({ anthropic, counted }) => {
    const whole = await anthropic.messages.create({ model: "mock-agent", max_tokens: 64, messages: [ask] });
    const streamed = await anthropic.messages.stream({ model: "mock-agent", max_tokens: 64, messages: [ask] })
      .finalMessage();
    assert.ok(whole.usage.input_tokens > 0 && whole.usage.output_tokens > 1);
    assert.deepEqual(counted, [
      { model: "mock-agent", inputTokens: whole.usage.input_tokens, outputTokens: whole.usage.output_tokens },
      // The streamed body says "stream": true, so its input is a token or so larger; its output is the final delta's.
      {
        model: "mock-agent",
        inputTokens: streamed.usage.input_tokens,
        outputTokens: streamed.usage.output_tokens,
      },
    ]);
    assert.equal(streamed.usage.output_tokens, whole.usage.output_tokens);
  }));

Deno.test("openai usage is counted, and a stream that did not ask for usage is made to report it", async () => {
  await withCountedMock(async ({ openai, counted }) => {
    const whole = await openai.chat.completions.create({ model: "gpt-4o", messages: [ask] });
    const chunks = [];
    for await (
      const chunk of await openai.chat.completions.create({ model: "gpt-4o", messages: [ask], stream: true })
    ) {
      chunks.push(chunk);
    }
    const final = chunks.at(-1);
    assert.ok(final?.usage, "the proxy asked for the usage chunk");
    assert.deepEqual(counted, [
      {
        model: "gpt-4o",
        inputTokens: whole.usage!.prompt_tokens,
        outputTokens: whole.usage!.completion_tokens,
      },
      {
        model: "gpt-4o",
        inputTokens: final.usage.prompt_tokens,
        outputTokens: final.usage.completion_tokens,
      },
    ]);
  });
});

Deno.test("a stream's usage survives events split across chunks and cache tokens count as input", async () => {
  const scanner = new StreamUsage();
  const events = [
    'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":10,',
    '"cache_read_input_tokens":5,"cache_creation_input_tokens":2,"output_tokens":1}}}\n\n',
    'event: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":7}}\r\n\r\n',
    "event: message_stop\ndata: {}",
  ];
  const body = ReadableStream.from(events.map((e) => new TextEncoder().encode(e))).pipeThrough(
    scanner.transform(),
  );
  assert.equal(await new Response(body).text(), events.join(""), "the stream passes unchanged");
  assert.deepEqual(scanner.tokens(), { input: 17, output: 7 });
});
