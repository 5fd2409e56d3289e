/**
 * Slack's entry in the channel registry: its tokens, API root and modes,
 * with the Slack libraries loaded only when the channel opens or the doctor
 * calls.
 *
 * @module
 */
import type { ChannelKind } from "../kit/mod.ts";
import { SLACK_CHANNEL } from "./inbound.ts";
import { checkSlackConfig, SLACK_API_ROOT, SLACK_API_ROOT_ENV } from "./settings.ts";

/** The Slack channel kind. */
export const slackChannel: ChannelKind = {
  type: SLACK_CHANNEL,
  title: "Slack",
  secrets: [
    {
      role: "token",
      flag: "bot-token-env",
      what: "the bot token (xoxb-…)",
      required: true,
      example: "SLACK_BOT_TOKEN",
    },
    {
      role: "app",
      flag: "app-token-env",
      what: "the app-level token (xapp-…, Socket Mode)",
      required: false,
      example: "SLACK_APP_TOKEN",
    },
    {
      role: "signing",
      flag: "signing-secret-env",
      what: "the signing secret (Events API over HTTP)",
      required: false,
      example: "SLACK_SIGNING_SECRET",
    },
  ],
  apiRoot: { default: SLACK_API_ROOT, env: SLACK_API_ROOT_ENV },
  webhook: "the Events API over HTTP instead of Socket Mode, with --signing-secret-env",
  mode: (config) =>
    config.webhookUrl
      ? { name: "webhook", phrase: `Events API at ${config.webhookUrl}` }
      : { name: "socket", phrase: "Socket Mode" },
  check: checkSlackConfig,
  async open(config, deps) {
    const { openSlackChannel } = await import("./runtime.ts");
    return openSlackChannel(config, deps);
  },
  async doctor(config, options = {}) {
    const { checkSlackTokens } = await import("./runtime.ts");
    return await checkSlackTokens(config, options);
  },
};
