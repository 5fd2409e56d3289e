/**
 * A configured Slack channel's settings, resolved from its configuration and
 * the host's environment; free of the Slack libraries.
 *
 * Socket Mode (the default) needs the app-level token (`xapp-…`) and no
 * public URL; the Events API over HTTP (`--webhook-url`) needs the signing
 * secret instead, to check every request. Both need the bot token (`xoxb-…`).
 *
 * @module
 */
import { type ChannelConfig, checkApiRoot, type Env, readSecret } from "../kit/mod.ts";
import { InvalidInputError } from "../../state/mod.ts";

/** Slack's Web API. */
export const SLACK_API_ROOT = "https://slack.com/api";

/** The environment variable that overrides the API root (a compatible server, or a test double). */
export const SLACK_API_ROOT_ENV = "IRONCLAW_SLACK_API_ROOT";

/** What the channel needs at start. */
export interface SlackSettings {
  botToken: string;
  apiRoot: string;
  /** Socket Mode with the app token, or the Events API with the signing secret. */
  receive: { mode: "socket"; appToken: string } | { mode: "webhook"; signingSecret: string };
}

/**
 * Refuses a configuration that cannot receive: Socket Mode without an app
 * token variable, the Events API without a signing secret variable.
 */
export function checkSlackConfig(config: Pick<ChannelConfig, "secretEnvs" | "webhookUrl">): void {
  if (config.webhookUrl && !config.secretEnvs.signing) {
    throw new InvalidInputError(
      "the Events API over HTTP needs Slack's signing secret: add --signing-secret-env SLACK_SIGNING_SECRET",
    );
  }
  if (!config.webhookUrl && !config.secretEnvs.app) {
    throw new InvalidInputError(
      "Socket Mode needs the app-level token: add --app-token-env SLACK_APP_TOKEN (or --webhook-url for HTTP)",
    );
  }
}

/**
 * The tokens (from the configured variables) and the API root (the
 * configuration's, else `$IRONCLAW_SLACK_API_ROOT`, else Slack's). Throws
 * `InvalidInputError` naming an unset variable, never a value.
 */
export function resolveSlackSettings(config: ChannelConfig, env: Env = Deno.env): SlackSettings {
  checkSlackConfig(config);
  const read = (name: string, what: string) => readSecret(name, { env, what, channel: config.name });
  return {
    botToken: read(config.tokenEnv, "its bot token"),
    apiRoot: checkApiRoot(config.apiRoot ?? env.get(SLACK_API_ROOT_ENV) ?? SLACK_API_ROOT),
    receive: config.webhookUrl
      ? { mode: "webhook", signingSecret: read(config.secretEnvs.signing, "its signing secret") }
      : { mode: "socket", appToken: read(config.secretEnvs.app, "its app-level token") },
  };
}
