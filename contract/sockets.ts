/**
 * Host-owned unix sockets shared with a session's sandbox, all inside the
 * layout's `socketDir`. One set per session, so the host knows who is calling
 * from which socket was used: no identity header is trusted.
 *
 * @module
 */

/** The model proxy: HTTP/1.1; the request's Host names the upstream. */
export const MODEL_SOCKET_NAME = "model.sock";

/** The doorbell: a byte stream of wake signals in both directions. */
export const DOORBELL_SOCKET_NAME = "doorbell.sock";

/**
 * Doorbell bytes. The host writes {@link DOORBELL.inbound} when an inbound row
 * is waiting; the agent writes {@link DOORBELL.outbound} after it appends an
 * outbound row. Either side polls as a fallback when the bell is silent.
 */
export const DOORBELL = { inbound: 0x69, outbound: 0x6f } as const;

/**
 * The offline mock model's upstream host. It speaks the Anthropic Messages
 * API (and OpenAI Chat Completions) through the same proxy as real
 * providers, so dev mode exercises the agent's real SDK path.
 */
export const MOCK_MODEL_HOST = "mock.ironclaw.internal";

/** Default upstream hosts of the providers the agent knows. */
export const PROVIDER_HOSTS = {
  anthropic: "api.anthropic.com",
  openai: "api.openai.com",
  openrouter: "openrouter.ai",
  mock: MOCK_MODEL_HOST,
} as const;

/** A provider kind. */
export type ProviderKind = keyof typeof PROVIDER_HOSTS;
