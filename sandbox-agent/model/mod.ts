/**
 * Model backends: the conversation format, the unix-socket `fetch`, and a
 * client per provider kind.
 *
 * @module
 */
export * from "./conversation.ts";
export {
  createModelClient,
  DEFAULT_MODELS,
  modelBackend,
  PROVIDER_KINDS,
  PROVIDER_WIRES,
} from "./providers.ts";
export type { ModelClientOptions } from "./providers.ts";
export { hideDeniedEnvironment } from "./environment.ts";
export { type UnixSocketFetch, unixSocketFetch } from "./unix_fetch.ts";
export { PLACEHOLDER_API_KEY } from "./sdk_options.ts";
export { fromOpenAIChoice, toOpenAIMessages } from "./openai.ts";
