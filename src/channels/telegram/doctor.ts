/**
 * The doctor's Telegram check: the token is set, well formed, and accepted
 * by the API server (`getMe`).
 *
 * @module
 */
import type { ChannelCheck } from "../kit/mod.ts";
import { Api, apiSignal } from "./grammy.ts";
import { API_ROOT_ENV, bridgedFetch, checkApiRoot, isBotToken, TELEGRAM_API_ROOT } from "./api.ts";
import { describeTelegramError } from "./secrets.ts";

/** What the check looks at. */
export interface TelegramCheckInput {
  /** The environment variable holding the token (read from `env`). */
  tokenEnv?: string;
  /** The token itself (wins over `tokenEnv`). */
  token?: string;
  /** Default: `$IRONCLAW_TELEGRAM_API_ROOT`, else Telegram's server. */
  apiRoot?: string;
  env?: { get(name: string): string | undefined };
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
}

/** Calls `getMe` with the configured token; never throws, never prints the token. */
export async function checkTelegramToken(input: TelegramCheckInput): Promise<ChannelCheck> {
  const env = input.env ?? Deno.env;
  const where = input.tokenEnv ? `$${input.tokenEnv}` : "the token";
  const token = input.token ?? (input.tokenEnv ? env.get(input.tokenEnv) : undefined) ?? "";
  if (token === "") {
    return {
      ok: false,
      detail: `${where} is not set`,
      fix: `export ${
        input.tokenEnv ?? "TELEGRAM_BOT_TOKEN"
      }=<token from @BotFather> before starting IronClaw`,
    };
  }
  if (!isBotToken(token)) {
    return {
      ok: false,
      detail: `${where} does not look like a bot token (<digits>:<secret>)`,
      fix: "copy the whole token @BotFather gave you",
    };
  }
  let apiRoot: string;
  try {
    apiRoot = checkApiRoot(input.apiRoot ?? env.get(API_ROOT_ENV) ?? TELEGRAM_API_ROOT);
  } catch (err) {
    return { ok: false, detail: (err as Error).message, fix: `fix --api-root or $${API_ROOT_ENV}` };
  }
  const api = new Api(token, { apiRoot, fetch: bridgedFetch, baseFetchConfig: {} });
  try {
    const me = await api.getMe(apiSignal(AbortSignal.timeout(input.timeoutMs ?? 10_000)));
    return { ok: true, detail: `bot @${me.username} (id ${me.id}) via ${apiRoot}` };
  } catch (err) {
    const detail = describeTelegramError(err, token);
    const refused = /\b(401|404)\b/.test(detail);
    return {
      ok: false,
      detail: `getMe via ${apiRoot} failed: ${detail}`,
      fix: refused
        ? `the server refused the token: get a fresh one from @BotFather and update ${where}`
        : `check the network path to ${apiRoot} (or --api-root / $${API_ROOT_ENV})`,
    };
  }
}
