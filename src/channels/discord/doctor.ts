/**
 * The doctor's Discord check: the token is set and accepted by the API
 * server (`users/@me`), and the application has the Message Content intent
 * enabled (`applications/@me` flags), without which the gateway refuses
 * the bot.
 *
 * @module
 */
import { API } from "@discordjs/core";
import { REST } from "@discordjs/rest";
import { type ChannelCheck, checkApiRoot, type Env } from "../kit/mod.ts";
import { describeDiscordError, scrubSecrets } from "./client.ts";
import { MESSAGE_CONTENT_FIX } from "./intents.ts";
import { API_ROOT_ENV, DISCORD_API_ROOT } from "./api_root.ts";

/** Application flags: the Message Content intent, enabled (100+ servers: verified) or limited (under 100). */
const GATEWAY_MESSAGE_CONTENT = 1 << 18;
const GATEWAY_MESSAGE_CONTENT_LIMITED = 1 << 19;

/** What the check looks at. */
export interface DiscordCheckInput {
  /** The environment variable holding the token (read from `env`). */
  tokenEnv: string;
  /** Default: `$IRONCLAW_DISCORD_API_ROOT`, else Discord's server. */
  apiRoot?: string;
  env?: Env;
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
}

/** Calls `users/@me` and `applications/@me` with the configured token; never throws, never prints the token. */
export async function checkDiscordToken(input: DiscordCheckInput): Promise<ChannelCheck> {
  const env = input.env ?? Deno.env;
  const token = (env.get(input.tokenEnv) ?? "").trim();
  if (token === "") {
    return {
      ok: false,
      detail: `$${input.tokenEnv} is not set`,
      fix:
        `export ${input.tokenEnv}=<token from the Developer Portal, your application → Bot> before starting IronClaw`,
    };
  }
  let apiRoot: string;
  try {
    apiRoot = checkApiRoot(input.apiRoot ?? env.get(API_ROOT_ENV) ?? DISCORD_API_ROOT);
  } catch (err) {
    return { ok: false, detail: (err as Error).message, fix: `fix --api-root or $${API_ROOT_ENV}` };
  }
  const rest = new REST({
    api: `${apiRoot}/api`,
    version: "10",
    timeout: input.timeoutMs ?? 10_000,
    retries: 0,
  })
    .setToken(token);
  const api = new API(rest);
  try {
    const me = await api.users.getCurrent();
    const app = await api.applications.getCurrent();
    const flags = app.flags ?? 0;
    if ((flags & (GATEWAY_MESSAGE_CONTENT | GATEWAY_MESSAGE_CONTENT_LIMITED)) === 0) {
      return {
        ok: false,
        detail: `bot ${me.username} (id ${me.id}): the Message Content intent is not enabled`,
        fix: MESSAGE_CONTENT_FIX,
      };
    }
    return { ok: true, detail: `bot ${me.username} (id ${me.id}) via ${apiRoot}` };
  } catch (err) {
    const detail = scrubSecrets(describeDiscordError(err), token);
    return {
      ok: false,
      detail: `users/@me via ${apiRoot} failed: ${detail}`,
      fix: /\b401\b/.test(detail)
        ? `Discord refused the token: reset it in the Developer Portal (Bot → Reset Token) and update $${input.tokenEnv}`
        : `check the network path to ${apiRoot} (or --api-root / $${API_ROOT_ENV})`,
    };
  } finally {
    rest.clearHashSweeper();
    rest.clearHandlerSweeper();
  }
}
