/**
 * Builds the model client for a provider kind. Every backend talks HTTP over
 * the model socket and addresses its upstream by host; the host's proxy adds
 * TLS and credentials.
 *
 * Each backend's module (and its SDK) is imported on the first model call,
 * and only the configured one: the bundler keeps both in the one sealed
 * agent file but wraps each in a lazy initialiser, so a sandbox never
 * compiles or evaluates the SDK it does not speak, and none before it is
 * asked to call the model (V8 only pre-parses the rest).
 *
 * @module
 */
import { PROVIDER_HOSTS, type ProviderKind } from "../../contract/sockets.ts";
import { clientFailure, type ModelClient } from "./conversation.ts";
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

/** The wire format each provider kind speaks. `mock` is the Anthropic wire aimed at the host's mock model. */
export const PROVIDER_WIRES: Record<ProviderKind, "anthropic" | "openai"> = {
  anthropic: "anthropic",
  mock: "anthropic",
  openai: "openai",
  openrouter: "openai",
};

/**
 * A client for `provider` over the model socket. Its backend module is
 * loaded on the first {@link ModelClient.converse} (a failed load is a
 * `client` {@link ModelError} and is retried on the next call). Its
 * connection to the socket is kept between calls; disposing the client
 * closes it.
 */
export function createModelClient(
  { provider, model, socketPath }: ModelClientOptions,
): ModelClient & Disposable {
  const fetch = unixSocketFetch(socketPath);
  let loading: Promise<ModelClient> | undefined;
  const load = (): Promise<ModelClient> => {
    if (!loading) {
      const attempt = modelBackend(provider, { model, fetch });
      loading = attempt;
      attempt.catch(() => {
        if (loading === attempt) loading = undefined;
      });
    }
    return loading;
  };
  return {
    provider,
    model: model ?? DEFAULT_MODELS[provider],
    async converse(request, options) {
      let client: ModelClient;
      try {
        client = await load();
      } catch (err) {
        throw clientFailure(err);
      }
      return await client.converse(request, options);
    },
    [Symbol.dispose]: () => fetch[Symbol.dispose](),
  };
}

/**
 * The client `createModelClient` loads at its first call: `provider`'s SDK
 * (imported now) sending through `fetch`. A warm spare rehearses with one
 * whose `fetch` is answered in-process (`sandbox-agent/rehearsal.ts`).
 */
export async function modelBackend(
  provider: ProviderKind,
  options: { model?: string; fetch: typeof globalThis.fetch },
): Promise<ModelClient> {
  const { fetch } = options;
  const common = {
    provider,
    host: PROVIDER_HOSTS[provider],
    model: options.model ?? DEFAULT_MODELS[provider],
  };
  if (PROVIDER_WIRES[provider] === "anthropic") {
    const { anthropicClient } = await import("./anthropic.ts");
    return anthropicClient({ ...common, fetch });
  }
  const { openaiClient } = await import("./openai.ts");
  return openaiClient({ ...common, fetch, basePath: provider === "openrouter" ? "/api/v1" : "/v1" });
}
