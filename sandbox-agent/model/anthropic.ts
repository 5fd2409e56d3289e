/**
 * The Anthropic Messages API backend, through the official SDK. Our
 * conversation format is Anthropic's, so requests pass through unchanged.
 *
 * @module
 */
import Anthropic from "@anthropic-ai/sdk";
import { MODEL_BUDGET_ERROR, type ProviderKind } from "../../contract/sockets.ts";
import type { Block, ModelClient } from "./conversation.ts";
import { type SdkErrors, sdkModelClient } from "./sdk_client.ts";
import { DEFAULT_MAX_TOKENS, PLACEHOLDER_API_KEY, SDK_OPTIONS } from "./sdk_options.ts";

/** Where and what an Anthropic-wire client calls. */
export interface AnthropicOptions {
  provider: ProviderKind;
  /** Upstream host, sent as `Host` so the proxy can route. */
  host: string;
  model: string;
  fetch: typeof fetch;
  maxTokens?: number;
}

/** A {@link ModelClient} over the Anthropic Messages API. */
export function anthropicClient(opts: AnthropicOptions): ModelClient {
  const client = new Anthropic({
    apiKey: PLACEHOLDER_API_KEY,
    baseURL: `http://${opts.host}`,
    fetch: opts.fetch,
    ...SDK_OPTIONS,
    // Each explicit option keeps the SDK from consulting the environment for it.
    webhookKey: null,
    openTelemetry: false,
  });
  return sdkModelClient(opts, ANTHROPIC_ERRORS, async (request, options) => {
    const reply = await client.messages.create({
      model: opts.model,
      max_tokens: opts.maxTokens ?? DEFAULT_MAX_TOKENS,
      system: request.system,
      messages: request.messages,
      ...(request.tools.length > 0 ? { tools: request.tools } : {}),
    }, options);
    return { content: reply.content.flatMap(toBlock), stopReason: reply.stop_reason ?? "end_turn" };
  });
}

const ANTHROPIC_ERRORS: SdkErrors<InstanceType<typeof Anthropic.APIError>> = {
  APIUserAbortError: Anthropic.APIUserAbortError,
  APIConnectionError: Anthropic.APIConnectionError,
  APIError: Anthropic.APIError,
  describe: (err) => {
    const kind: string = err.type ?? "api_error";
    // The proxy's budget notice is for the conversation, word for word.
    if (kind === MODEL_BUDGET_ERROR.type && err.apiMessage) return { kind, message: err.apiMessage };
    return { kind, message: `model answered ${err.status}: ${kind}: ${err.apiMessage ?? ""}` };
  },
};

/** Keeps the blocks we act on; thinking and server-tool blocks are the provider's business. */
function toBlock(block: Anthropic.ContentBlock): Block[] {
  if (block.type === "text") return [{ type: "text", text: block.text }];
  if (block.type === "tool_use") {
    return [{ type: "tool_use", id: block.id, name: block.name, input: block.input }];
  }
  return [];
}
