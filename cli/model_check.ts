/**
 * The model-credential check of `onboard` and `doctor`: one real call to a
 * provider through its official client, with the key from the environment
 * variable the configuration names, so a wrong key, model or URL shows before
 * an agent needs it.
 *
 * @module
 */
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { PROVIDER_HOSTS } from "../contract/sockets.ts";
import { type ModelConfig, modelKeyEnv } from "../src/control_plane/mod.ts";

/** How long the one checking call may take. */
const CHECK_TIMEOUT_MS = 30_000;

/** What failed, and the one-line fix. */
export interface ModelProblem {
  detail: string;
  fix: string;
}

/**
 * One real call to the provider `config` names: a five-token chat with its
 * model, or, with `listOnly` (a key set but no model chosen), the model list.
 * Returns undefined when it answers.
 */
export async function checkModelCredential(
  config: Pick<ModelConfig, "provider" | "baseUrl" | "keyEnv"> & { model?: string },
  env: { get(name: string): string | undefined } = Deno.env,
): Promise<ModelProblem | undefined> {
  const keyEnv = modelKeyEnv(config);
  const key = env.get(keyEnv) || undefined;
  const where = config.baseUrl ?? `https://${PROVIDER_HOSTS[config.provider]}`;
  if (!key && !config.baseUrl) {
    return {
      detail: `$${keyEnv} is not set`,
      fix: `export ${keyEnv}=<your ${config.provider} key> where serve runs`,
    };
  }
  const prompt = [{ role: "user" as const, content: "Reply with OK." }];
  const options = { timeout: CHECK_TIMEOUT_MS, maxRetries: 0 };
  try {
    if (config.provider === "anthropic") {
      const client = new Anthropic({ apiKey: key, baseURL: config.baseUrl, ...options });
      if (config.model) {
        await client.messages.create({ model: config.model, max_tokens: 5, messages: prompt });
      } else await client.models.list();
    } else {
      const path = config.provider === "openrouter" ? "/api/v1" : "/v1";
      // A local server takes any key; the SDK insists on one.
      const client = new OpenAI({ apiKey: key ?? "none", baseURL: `${where}${path}`, ...options });
      if (config.model) {
        await client.chat.completions.create({ model: config.model, max_tokens: 5, messages: prompt });
      } else await client.models.list();
    }
    return undefined;
  } catch (err) {
    const status = (err as { status?: number }).status;
    const first = String((err as Error).message).split("\n")[0];
    if (status === 401 || status === 403) {
      return {
        detail: `${where} refused the key in $${keyEnv} (${status})`,
        fix: `set ${keyEnv} to a valid key`,
      };
    }
    if (status === 404 && config.model) {
      return { detail: `${where} does not know model ${config.model} (404)`, fix: "pass another --model" };
    }
    if (status) {
      return {
        detail: `${where} answered ${status}: ${first}`,
        fix: "check the provider's status and the URL",
      };
    }
    return { detail: `cannot reach ${where} (${first})`, fix: "start the server or correct the base URL" };
  }
}
