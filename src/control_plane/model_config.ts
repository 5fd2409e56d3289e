/**
 * The model provider `ironclaw onboard` chose, kept in the state directory
 * (`model.json`, 0600) so `serve` and `doctor` use the same one. It names
 * where the key is (an environment variable), never the key itself.
 *
 * @module
 */
import { z } from "zod";
import { PROVIDER_HOSTS } from "../../contract/sockets.ts";
import {
  type CredentialSource,
  envCredentials,
  PROVIDER_CREDENTIAL_ENV,
  type UpstreamConfig,
} from "../model_proxy/mod.ts";
import { replacePrivateFile } from "../keys/mod.ts";

/** The file's name inside the state directory. */
export const MODEL_CONFIG_FILE = "model.json";

/** The providers a model config names (their wire: Anthropic, or OpenAI's chat completions). */
export const MODEL_PROVIDERS = ["anthropic", "openai", "openrouter"] as const;

/** The model provider of this installation. */
export const ModelConfig = z.object({
  provider: z.enum(MODEL_PROVIDERS),
  model: z.string().min(1).max(200),
  /** A local OpenAI-compatible server (Ollama, llama.cpp) that stands in for the provider's host, e.g. `http://127.0.0.1:11434`. */
  baseUrl: z.url({ protocol: /^https?$/ }).optional(),
  /** The environment variable holding the key (default the provider's own, e.g. `OPENAI_API_KEY`). */
  keyEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).optional(),
});
export type ModelConfig = z.infer<typeof ModelConfig>;

/** The host the sandboxed agent addresses for `provider`. */
export function providerHost(provider: ModelConfig["provider"]): string {
  return PROVIDER_HOSTS[provider];
}

/** The environment variable the key of `config` is read from. */
export function modelKeyEnv(config: Pick<ModelConfig, "provider" | "keyEnv">): string {
  return config.keyEnv ?? PROVIDER_CREDENTIAL_ENV[providerHost(config.provider)];
}

/** `<stateDir>/model.json`, or undefined when onboarding has not written one. Throws on a damaged file. */
export function readModelConfig(stateDir: string): ModelConfig | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(`${stateDir}/${MODEL_CONFIG_FILE}`);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  const parsed = ModelConfig.safeParse(JSON.parse(text));
  if (!parsed.success) {
    throw new Error(`${stateDir}/${MODEL_CONFIG_FILE} is not a model config (rerun \`ironclaw onboard\`)`);
  }
  return parsed.data;
}

/** Writes `config` as `<stateDir>/model.json` (0600, replaced atomically). */
export async function writeModelConfig(stateDir: string, config: ModelConfig): Promise<void> {
  await Deno.mkdir(stateDir, { recursive: true, mode: 0o700 });
  await replacePrivateFile(
    `${stateDir}/${MODEL_CONFIG_FILE}`,
    new TextEncoder().encode(JSON.stringify(ModelConfig.parse(config), null, 2) + "\n"),
  );
}

/**
 * What the plane's model proxy needs for `config`: the local server standing
 * in for the provider's host, and the key from the named variable.
 */
export function modelProxyOptions(
  config: ModelConfig,
  env: { get(name: string): string | undefined } = Deno.env,
): { upstreams: UpstreamConfig[]; credentials: CredentialSource } {
  const host = providerHost(config.provider);
  const fallback = envCredentials(env);
  return {
    upstreams: config.baseUrl ? [{ host, baseUrl: config.baseUrl }] : [],
    credentials: (asked) => asked === host ? env.get(modelKeyEnv(config)) || undefined : fallback(asked),
  };
}
