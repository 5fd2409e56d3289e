import assert from "node:assert/strict";
import { mockReply } from "./reply.ts";

Deno.test("plain text is echoed, trimmed", () => {
  assert.deepEqual(mockReply({ lastUserText: "  hello there \n", tools: [] }), {
    type: "text",
    text: "mock-agent received: hello there",
  });
});

Deno.test("a directive for an offered tool becomes a tool call", () => {
  assert.deepEqual(
    mockReply({
      lastUserText: 'please tool:echo_upper {"text":"ping","n":{"x":1}} thanks',
      tools: ["echo_upper"],
    }),
    { type: "tool", id: "mocktool_1", name: "echo_upper", input: { text: "ping", n: { x: 1 } } },
  );
  assert.deepEqual(mockReply({ lastUserText: "tool:now", tools: ["now"] }), {
    type: "tool",
    id: "mocktool_1",
    name: "now",
    input: {},
  });
});

Deno.test("a directive is only text when the tool is not offered or its arguments are not JSON", () => {
  for (const [text, tools] of [["tool:echo {}", ["other"]], ["tool:echo {nope}", ["echo"]]] as const) {
    assert.deepEqual(mockReply({ lastUserText: text, tools }), {
      type: "text",
      text: `mock-agent received: ${text}`,
    });
  }
});

Deno.test("a tool result wins over any directive", () => {
  assert.deepEqual(mockReply({ lastUserText: "tool:echo {}", toolResult: "PING", tools: ["echo"] }), {
    type: "text",
    text: "mock-agent tool result: PING",
  });
});

Deno.test("the echo leaves out the agent's origin headers, one per message of a batch", () => {
  assert.deepEqual(mockReply({ lastUserText: "[chat via web demo]\nhello there", tools: [] }), {
    type: "text",
    text: "mock-agent received: hello there",
  });
  assert.deepEqual(
    mockReply({ lastUserText: "[chat via web demo]\none\n\n[chat via web demo]\ntwo", tools: [] }),
    { type: "text", text: "mock-agent received: one\n\ntwo" },
  );
  // Brackets that are not a header stay.
  assert.deepEqual(mockReply({ lastUserText: "[not a header]\nx", tools: [] }), {
    type: "text",
    text: "mock-agent received: [not a header]\nx",
  });
});
