/**
 * The OpenAI Chat Completions backend (OpenAI and OpenRouter), through the
 * official SDK, translating our Anthropic-shaped conversation both ways.
 *
 * @module
 */
import OpenAI from "openai";
import { MODEL_BUDGET_ERROR, type ProviderKind } from "../../contract/sockets.ts";
import {
  type Block,
  type Message,
  type ModelClient,
  ModelError,
  type ToolSpec,
  type Turn,
} from "./conversation.ts";
import { type SdkErrors, sdkModelClient } from "./sdk_client.ts";
import { PLACEHOLDER_API_KEY, SDK_OPTIONS } from "./sdk_options.ts";

/** Where and what an OpenAI-wire client calls. */
export interface OpenAIOptions {
  provider: ProviderKind;
  /** Upstream host, sent as `Host` so the proxy can route. */
  host: string;
  /** API path prefix on that host, e.g. `/v1` or `/api/v1`. */
  basePath: string;
  model: string;
  fetch: typeof fetch;
}

/** A {@link ModelClient} over OpenAI Chat Completions. */
export function openaiClient(opts: OpenAIOptions): ModelClient {
  const client = new OpenAI({
    apiKey: PLACEHOLDER_API_KEY,
    baseURL: `http://${opts.host}${opts.basePath}`,
    fetch: opts.fetch,
    ...SDK_OPTIONS,
    // Explicit nulls keep the SDK from picking these up from an environment.
    organization: null,
    project: null,
    webhookSecret: null,
  });
  return sdkModelClient(opts, OPENAI_ERRORS, async (request, options) => {
    const completion = await client.chat.completions.create({
      model: opts.model,
      messages: toOpenAIMessages(request.system, request.messages),
      ...(request.tools.length > 0 ? { tools: request.tools.map(toOpenAITool) } : {}),
    }, options);
    const choice = completion.choices[0];
    if (!choice) throw new ModelError("model answered with no choices", "empty_response");
    return fromOpenAIChoice(choice);
  });
}

const OPENAI_ERRORS: SdkErrors<InstanceType<typeof OpenAI.APIError>> = {
  APIUserAbortError: OpenAI.APIUserAbortError,
  APIConnectionError: OpenAI.APIConnectionError,
  APIError: OpenAI.APIError,
  describe: (err) => {
    const kind = err.type ?? err.code ?? "api_error";
    const notice = (err.error as { message?: unknown } | undefined)?.message;
    // The proxy's budget notice is for the conversation, word for word.
    if (kind === MODEL_BUDGET_ERROR.type && typeof notice === "string") return { kind, message: notice };
    return { kind, message: `model answered ${err.status}: ${kind}` };
  },
};

/** Our conversation as Chat Completions messages. */
export function toOpenAIMessages(
  system: string,
  messages: readonly Message[],
): OpenAI.ChatCompletionMessageParam[] {
  const out: OpenAI.ChatCompletionMessageParam[] = [{ role: "system", content: system }];
  for (const message of messages) {
    const text = message.content.flatMap((b) => b.type === "text" ? [b.text] : []).join("");
    if (message.role === "assistant") {
      const calls = message.content.flatMap((b): OpenAI.ChatCompletionMessageToolCall[] =>
        b.type === "tool_use"
          ? [{
            id: b.id,
            type: "function",
            function: {
              name: b.name,
              arguments: typeof b.input === "string" ? b.input : JSON.stringify(b.input ?? {}),
            },
          }]
          : []
      );
      out.push({
        role: "assistant",
        content: text || null,
        ...(calls.length > 0 ? { tool_calls: calls } : {}),
      });
      continue;
    }
    // Tool results answer the assistant message just before, so they come first.
    for (const b of message.content) {
      if (b.type === "tool_result") {
        out.push({
          role: "tool",
          tool_call_id: b.tool_use_id,
          content: b.is_error ? `error: ${b.content}` : b.content,
        });
      }
    }
    if (text) out.push({ role: "user", content: text });
  }
  return out;
}

/** A Chat Completions choice as our turn. Arguments that are not JSON reach the tool as a string, which it rejects. */
export function fromOpenAIChoice(choice: OpenAI.ChatCompletion.Choice): Turn {
  const content: Block[] = [];
  if (choice.message.content) content.push({ type: "text", text: choice.message.content });
  for (const call of choice.message.tool_calls ?? []) {
    if (call.type !== "function") continue;
    content.push({
      type: "tool_use",
      id: call.id,
      name: call.function.name,
      input: parseArguments(call.function.arguments),
    });
  }
  return { content, stopReason: STOP_REASONS[choice.finish_reason] ?? choice.finish_reason };
}

const STOP_REASONS: Record<string, string> = {
  stop: "end_turn",
  tool_calls: "tool_use",
  length: "max_tokens",
};

function parseArguments(args: string): unknown {
  try {
    return JSON.parse(args || "{}");
  } catch {
    return args;
  }
}

function toOpenAITool(tool: ToolSpec): OpenAI.ChatCompletionTool {
  return {
    type: "function",
    function: { name: tool.name, description: tool.description, parameters: tool.input_schema },
  };
}
