/**
 * The offline mock model served in-process at `MOCK_MODEL_HOST`: the
 * Anthropic Messages and OpenAI Chat Completions APIs with deterministic
 * answers (see {@link mockReply}), streaming and not.
 *
 * @module
 */
import { anthropicMessages } from "./anthropic.ts";
import { openaiChatCompletions } from "./openai.ts";
import type { MockRequest } from "./parse.ts";

export type { MockRequest } from "./parse.ts";
export { MOCK_TOOL_CALL_ID, type MockPrompt, type MockReply, mockReply } from "./reply.ts";

/** Answers one request to the mock upstream, from the body the proxy already read and parsed. */
export function mockUpstream(method: string, path: string, request: MockRequest): Response {
  if (method === "POST" && path === "/v1/messages") return anthropicMessages(request);
  if (method === "POST" && path === "/v1/chat/completions") return openaiChatCompletions(request);
  return Response.json(
    { error: { type: "not_found_error", message: `mock model: no route ${method} ${path}` } },
    { status: 404 },
  );
}
