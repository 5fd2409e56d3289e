/**
 * The mock speaking the Anthropic Messages API (`POST /v1/messages`).
 *
 * @module
 */
import { z } from "zod";
import { joinText, type MockRequest, parseJsonBody } from "./parse.ts";
import { estimateTokens, type MockReply, mockReply, replyTokens } from "./reply.ts";
import { jsonChunks, sseResponse, textChunks } from "./sse.ts";

const TextPart = z.looseObject({ type: z.string(), text: z.string().optional() });
const Block = z.looseObject({
  type: z.string(),
  text: z.string().optional(),
  content: z.union([z.string(), z.array(TextPart)]).optional(),
});
const MessagesRequest = z.looseObject({
  model: z.string().min(1),
  max_tokens: z.number().int().positive(),
  messages: z.array(z.looseObject({
    role: z.enum(["user", "assistant"]),
    content: z.union([z.string(), z.array(Block)]),
  })).min(1),
  tools: z.array(z.looseObject({ name: z.string() })).optional(),
  stream: z.boolean().optional(),
});
type MessagesRequest = z.infer<typeof MessagesRequest>;
type Content = MessagesRequest["messages"][number]["content"];

const textOf = (content: Content) => typeof content === "string" ? content : joinText(content);

/** The provider's error shape. */
function anthropicError(status: number, type: string, message: string): Response {
  return Response.json({ type: "error", error: { type, message } }, { status });
}

/** Answers a Messages API request. */
export function anthropicMessages(body: MockRequest): Response {
  const parsed = parseJsonBody(MessagesRequest, body);
  if (!parsed.ok) return anthropicError(400, "invalid_request_error", parsed.message);
  const request = parsed.value;
  const last = request.messages[request.messages.length - 1];
  const results = typeof last.content === "string" || last.role !== "user"
    ? []
    : last.content.filter((b) => b.type === "tool_result");
  const reply = mockReply({
    lastUserText: textOf(request.messages.findLast((m) => m.role === "user")?.content ?? ""),
    toolResult: results.length ? results.map((r) => textOf(r.content ?? "")).join("\n") : undefined,
    tools: request.tools?.map((t) => t.name) ?? [],
  });
  const message = {
    id: `msg_mock_${request.messages.length}`,
    type: "message",
    role: "assistant",
    model: request.model,
    stop_sequence: null,
  };
  const usage = {
    input_tokens: estimateTokens(body.text),
    output_tokens: replyTokens(reply),
  };
  if (!request.stream) {
    const content = reply.type === "text"
      ? [{ type: "text", text: reply.text }]
      : [{ type: "tool_use", id: reply.id, name: reply.name, input: reply.input }];
    return Response.json({ ...message, content, stop_reason: stopReason(reply), usage });
  }
  const event = (type: string, data: Record<string, unknown>) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  const [block, deltas] = reply.type === "text"
    ? [
      { type: "text", text: "" },
      textChunks(reply.text).map((text) => ({ type: "text_delta", text })),
    ]
    : [
      { type: "tool_use", id: reply.id, name: reply.name, input: {} },
      jsonChunks(JSON.stringify(reply.input)).map((partial_json) => ({
        type: "input_json_delta",
        partial_json,
      })),
    ];
  return sseResponse([
    event("message_start", {
      message: { ...message, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } },
    }),
    event("content_block_start", { index: 0, content_block: block }),
    ...deltas.map((delta) => event("content_block_delta", { index: 0, delta })),
    event("content_block_stop", { index: 0 }),
    event("message_delta", {
      delta: { stop_reason: stopReason(reply), stop_sequence: null },
      usage: { output_tokens: usage.output_tokens },
    }),
    event("message_stop", {}),
  ]);
}

function stopReason(reply: MockReply): string {
  return reply.type === "text" ? "end_turn" : "tool_use";
}
