/**
 * The control plane's way in: the configured Discord channel as a ready
 * adapter, its token read from the environment variable the configuration
 * names, its API root the configuration's, else `$IRONCLAW_DISCORD_API_ROOT`,
 * else Discord's.
 *
 * @module
 */
import { type ChannelConfig, type ChannelDeps, checkApiRoot, readSecret } from "../kit/mod.ts";
import { DiscordAdapter } from "./adapter.ts";
import { API_ROOT_ENV, DISCORD_API_ROOT } from "./api_root.ts";

/**
 * The adapter of the configured channel `config`. Throws
 * `InvalidInputError` when its token variable is unset (naming the
 * variable, never a value) or the API root is not usable.
 */
export function openDiscordChannel(config: ChannelConfig, deps: ChannelDeps): DiscordAdapter {
  const { env, ...rest } = deps;
  const token = readSecret(config.tokenEnv, { env, what: "the bot token", channel: config.name });
  const apiRoot = checkApiRoot(config.apiRoot ?? (env ?? Deno.env).get(API_ROOT_ENV) ?? DISCORD_API_ROOT);
  return new DiscordAdapter({ ...rest, token, apiRoot });
}
