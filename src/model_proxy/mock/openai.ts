/**
 * The mock speaking the OpenAI Chat Completions API (`POST /v1/chat/completions`).
 *
 * @module
 */
import { z } from "zod";
import { joinText, type MockRequest, parseJsonBody } from "./parse.ts";
import { estimateTokens, mockReply, replyTokens } from "./reply.ts";
import { jsonChunks, sseResponse, textChunks } from "./sse.ts";

const ChatRequest = z.looseObject({
  model: z.string().min(1),
  messages: z.array(z.looseObject({
    role: z.enum(["system", "developer", "user", "assistant", "tool", "function"]),
    content: z.union([z.string(), z.array(z.looseObject({ type: z.string(), text: z.string().optional() }))])
      .nullish(),
  })).min(1),
  tools: z.array(z.looseObject({ function: z.looseObject({ name: z.string() }).optional() })).optional(),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
});
type Content = z.infer<typeof ChatRequest>["messages"][number]["content"];

const textOf = (content: Content) => typeof content === "string" ? content : joinText(content ?? []);

/** Answers a Chat Completions request. */
export function openaiChatCompletions(body: MockRequest): Response {
  const parsed = parseJsonBody(ChatRequest, body);
  if (!parsed.ok) {
    return Response.json(
      { error: { message: parsed.message, type: "invalid_request_error", param: null, code: null } },
      { status: 400 },
    );
  }
  const request = parsed.value;
  const last = request.messages[request.messages.length - 1];
  const reply = mockReply({
    lastUserText: textOf(request.messages.findLast((m) => m.role === "user")?.content),
    toolResult: last.role === "tool" ? textOf(last.content) : undefined,
    tools: request.tools?.flatMap((t) => t.function ? [t.function.name] : []) ?? [],
  });
  const promptTokens = estimateTokens(body.text);
  const completionTokens = replyTokens(reply);
  const usage = {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
  const head = {
    id: `chatcmpl-mock-${request.messages.length}`,
    created: Math.floor(Date.now() / 1000),
    model: request.model,
  };
  const finishReason = reply.type === "text" ? "stop" : "tool_calls";
  const args = reply.type === "tool" ? JSON.stringify(reply.input) : "";
  if (!request.stream) {
    const message = reply.type === "text" ? { role: "assistant", content: reply.text, refusal: null } : {
      role: "assistant",
      content: null,
      refusal: null,
      tool_calls: [{ id: reply.id, type: "function", function: { name: reply.name, arguments: args } }],
    };
    return Response.json({
      ...head,
      object: "chat.completion",
      choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }],
      usage,
    });
  }
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({ ...head, object: "chat.completion.chunk", choices, ...extra })}\n\n`;
  const delta = (d: Record<string, unknown>, finish: string | null = null) =>
    chunk([{ index: 0, delta: d, logprobs: null, finish_reason: finish }]);
  const deltas = reply.type === "text"
    ? [
      delta({ role: "assistant", content: "" }),
      ...textChunks(reply.text).map((content) => delta({ content })),
    ]
    : [
      delta({
        role: "assistant",
        content: null,
        tool_calls: [{
          index: 0,
          id: reply.id,
          type: "function",
          function: { name: reply.name, arguments: "" },
        }],
      }),
      ...jsonChunks(args).map((a) => delta({ tool_calls: [{ index: 0, function: { arguments: a } }] })),
    ];
  return sseResponse([
    ...deltas,
    delta({}, finishReason),
    ...(request.stream_options?.include_usage ? [chunk([], { usage })] : []),
    "data: [DONE]\n\n",
  ]);
}
