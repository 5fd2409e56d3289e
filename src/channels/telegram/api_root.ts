/**
 * Where the Bot API is, and what a token looks like; free of grammY so the
 * CLI can check settings without loading it.
 *
 * @module
 */
export { checkApiRoot } from "../kit/mod.ts";

/** Telegram's public Bot API server. */
export const TELEGRAM_API_ROOT = "https://api.telegram.org";

/** The environment variable that overrides the API root (a local Bot API server, or a test double). */
export const API_ROOT_ENV = "IRONCLAW_TELEGRAM_API_ROOT";

/** A bot token's shape (`<bot id>:<secret>`); checked before any call so typos fail early. */
export function isBotToken(token: string): boolean {
  return /^\d{1,20}:[A-Za-z0-9_-]{20,100}$/.test(token);
}
