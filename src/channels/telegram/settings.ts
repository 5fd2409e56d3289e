/**
 * A configured Telegram channel's settings, resolved from its configuration
 * and the host's environment; free of grammY.
 *
 * @module
 */
import { type ChannelConfig, checkApiRoot, type Env, readSecret } from "../kit/mod.ts";
import { API_ROOT_ENV, TELEGRAM_API_ROOT } from "./api_root.ts";

/** What the channel needs at start. */
export interface TelegramSettings {
  token: string;
  apiRoot: string;
  webhookUrl: string | null;
}

/**
 * The token (from the configured variable) and the API root (the
 * configuration's, else `$IRONCLAW_TELEGRAM_API_ROOT`, else Telegram's).
 * Throws `InvalidInputError` when the variable is unset or empty; the
 * message names the variable, never a value.
 */
export function resolveTelegramSettings(config: ChannelConfig, env: Env = Deno.env): TelegramSettings {
  return {
    token: readSecret(config.tokenEnv, { env, what: "its bot token", channel: config.name }),
    apiRoot: checkApiRoot(config.apiRoot ?? env.get(API_ROOT_ENV) ?? TELEGRAM_API_ROOT),
    webhookUrl: config.webhookUrl,
  };
}
