/**
 * Telegram's entry in the channel registry: its secret, API root and modes,
 * with grammY loaded only when the channel opens or the doctor calls.
 *
 * @module
 */
import type { ChannelKind } from "../kit/mod.ts";
import { API_ROOT_ENV, TELEGRAM_API_ROOT } from "./api_root.ts";
import { TELEGRAM_CHANNEL } from "./inbound.ts";

/** The Telegram channel kind. */
export const telegramChannel: ChannelKind = {
  type: TELEGRAM_CHANNEL,
  title: "Telegram",
  secrets: [{
    role: "token",
    flag: "token-env",
    what: "the bot token",
    required: true,
    example: "TELEGRAM_BOT_TOKEN",
  }],
  apiRoot: { default: TELEGRAM_API_ROOT, env: API_ROOT_ENV },
  webhook: "receive updates by webhook at this public https URL (default: long polling)",
  mode: (config) =>
    config.webhookUrl
      ? { name: "webhook", phrase: `webhook at ${config.webhookUrl}` }
      : { name: "polling", phrase: "long polling" },
  async open(config, deps) {
    const { openTelegramChannel } = await import("./runtime.ts");
    return openTelegramChannel(config, deps);
  },
  async doctor(config, options = {}) {
    const { checkTelegramToken } = await import("./runtime.ts");
    return await checkTelegramToken({
      tokenEnv: config.tokenEnv,
      apiRoot: config.apiRoot ?? undefined,
      env: options.env,
      timeoutMs: options.timeoutMs,
    });
  },
};
