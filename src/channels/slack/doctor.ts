/**
 * The doctor's Slack check: the tokens are set, and Slack accepts the bot
 * token (`auth.test`) and, for Socket Mode, the app-level token
 * (`apps.connections.open`, whose URL is not used).
 *
 * @module
 */
import { WebClient } from "@slack/web-api";
import type { ChannelCheck, ChannelConfig, Env } from "../kit/mod.ts";
import { resolveSlackSettings, type SlackSettings } from "./settings.ts";
import { scrubSlack } from "./web.ts";

/** Checks a configured Slack channel with one call per token; never throws, never prints a token. */
export async function checkSlackTokens(
  config: ChannelConfig,
  options: { env?: Env; timeoutMs?: number } = {},
): Promise<ChannelCheck> {
  let settings: SlackSettings;
  try {
    settings = resolveSlackSettings(config, options.env);
  } catch (err) {
    return { ok: false, detail: (err as Error).message, fix: "set the variable where IronClaw runs" };
  }
  const secrets = [settings.botToken, settings.receive.mode === "socket" ? settings.receive.appToken : ""];
  const client = (token: string) =>
    new WebClient(token, {
      slackApiUrl: `${settings.apiRoot}/`,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout: options.timeoutMs ?? 10_000,
    });
  try {
    const me = await client(settings.botToken).auth.test();
    if (settings.receive.mode === "socket") await client(settings.receive.appToken).apps.connections.open({});
    return {
      ok: true,
      detail: `bot ${me.user} (${me.user_id}) in ${me.team ?? me.team_id} via ${settings.apiRoot}, ${
        settings.receive.mode === "socket" ? "Socket Mode" : "Events API"
      }`,
    };
  } catch (err) {
    const e = err as { data?: { error?: string }; message?: string };
    const detail = scrubSlack(e.data?.error ?? e.message ?? String(err), secrets);
    const refused = /invalid_auth|not_authed|token_revoked|account_inactive/.test(detail);
    return {
      ok: false,
      detail: `Slack via ${settings.apiRoot} refused: ${detail}`,
      fix: refused
        ? "reinstall the app or copy fresh tokens (OAuth & Permissions; Basic Information → App-Level Tokens)"
        : `check the network path to ${settings.apiRoot} (or --api-root)`,
    };
  }
}
