/**
 * The offline mock model served in-process at `MOCK_MODEL_HOST`: the
 * Anthropic Messages and OpenAI Chat Completions APIs with deterministic
 * answers (see {@link mockReply}), streaming and not.
 *
 * @module
 */
import { anthropicMessages } from "./anthropic.ts";
import { openaiChatCompletions } from "./openai.ts";

export { MOCK_TOOL_CALL_ID, type MockPrompt, type MockReply, mockReply } from "./reply.ts";

/** Answers one request to the mock upstream. */
export function mockUpstream(method: string, path: string, body: Uint8Array): Response {
  if (method === "POST" && path === "/v1/messages") return anthropicMessages(body);
  if (method === "POST" && path === "/v1/chat/completions") return openaiChatCompletions(body);
  return Response.json(
    { error: { type: "not_found_error", message: `mock model: no route ${method} ${path}` } },
    { status: 404 },
  );
}
