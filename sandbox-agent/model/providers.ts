/**
 * Builds the model client for a provider kind. Every backend talks HTTP over
 * the model socket and addresses its upstream by host; the host's proxy adds
 * TLS and credentials.
 *
 * @module
 */
import { PROVIDER_HOSTS, type ProviderKind } from "../../contract/sockets.ts";
import { anthropicClient } from "./anthropic.ts";
import type { ModelClient } from "./conversation.ts";
import { openaiClient } from "./openai.ts";
import { unixSocketFetch } from "./unix_fetch.ts";

/** The provider kinds the agent speaks. */
export const PROVIDER_KINDS = Object.keys(PROVIDER_HOSTS) as [ProviderKind, ...ProviderKind[]];

/** Model used when none is configured. */
export const DEFAULT_MODELS: Record<ProviderKind, string> = {
  anthropic: "claude-opus-4-8",
  openai: "gpt-4o",
  openrouter: "openai/gpt-4o",
  mock: "mock-agent",
};

/** What a model client needs. */
export interface ModelClientOptions {
  provider: ProviderKind;
  /** Defaults to {@link DEFAULT_MODELS}. */
  model?: string;
  /** The host's model proxy socket. */
  socketPath: string;
}

/** A client for `provider` over the model socket. `mock` is the Anthropic wire aimed at the host's mock model. */
export function createModelClient({ provider, model, socketPath }: ModelClientOptions): ModelClient {
  const common = { provider, host: PROVIDER_HOSTS[provider], model: model ?? DEFAULT_MODELS[provider] };
  const fetch = unixSocketFetch(socketPath);
  switch (provider) {
    case "anthropic":
    case "mock":
      return anthropicClient({ ...common, fetch });
    case "openai":
      return openaiClient({ ...common, fetch, basePath: "/v1" });
    case "openrouter":
      return openaiClient({ ...common, fetch, basePath: "/api/v1" });
  }
}
