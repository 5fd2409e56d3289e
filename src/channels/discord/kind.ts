/**
 * Discord's entry in the channel registry: its token, API root and mode,
 * with the Discord libraries loaded only when the channel opens or the
 * doctor calls.
 *
 * @module
 */
import type { ChannelKind } from "../kit/mod.ts";
import { API_ROOT_ENV, DISCORD_API_ROOT } from "./api_root.ts";
import { DISCORD_CHANNEL } from "./inbound.ts";

/** The Discord channel kind. */
export const discordChannel: ChannelKind = {
  type: DISCORD_CHANNEL,
  title: "Discord",
  secrets: [{
    role: "token",
    flag: "token-env",
    what: "the bot token",
    required: true,
    example: "DISCORD_BOT_TOKEN",
  }],
  apiRoot: { default: DISCORD_API_ROOT, env: API_ROOT_ENV },
  mode: () => ({ name: "gateway", phrase: "the Gateway WebSocket" }),
  async open(config, deps) {
    const { openDiscordChannel } = await import("./runtime.ts");
    return openDiscordChannel(config, deps);
  },
  async doctor(config, options = {}) {
    const { checkDiscordToken } = await import("./runtime.ts");
    return await checkDiscordToken({
      tokenEnv: config.tokenEnv,
      apiRoot: config.apiRoot ?? undefined,
      env: options.env,
      timeoutMs: options.timeoutMs,
    });
  },
};
