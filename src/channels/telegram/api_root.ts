/**
 * Where the Bot API is, and what a token looks like; free of grammY so the
 * CLI can check settings without loading it.
 *
 * @module
 */
import { InvalidInputError } from "../../state/mod.ts";

/** Telegram's public Bot API server. */
export const TELEGRAM_API_ROOT = "https://api.telegram.org";

/** The environment variable that overrides the API root (a local Bot API server, or a test double). */
export const API_ROOT_ENV = "IRONCLAW_TELEGRAM_API_ROOT";

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

/**
 * `url` checked as an API root and without its trailing slashes: `https:`,
 * or plain `http:` only on loopback (the token travels in every URL); no
 * credentials, query or fragment. Throws `InvalidInputError`.
 */
export function checkApiRoot(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidInputError(`invalid API root ${JSON.stringify(url)}: not a URL`);
  }
  if (parsed.protocol !== "https:" && !(parsed.protocol === "http:" && LOOPBACK.test(parsed.hostname))) {
    throw new InvalidInputError(
      `invalid API root ${parsed.origin}: use https (plain http only on loopback: the token is in every URL)`,
    );
  }
  if (parsed.username || parsed.password || parsed.search || parsed.hash) {
    throw new InvalidInputError("invalid API root: no credentials, query or fragment");
  }
  return `${parsed.origin}${parsed.pathname}`.replace(/\/+$/, "");
}

/** A bot token's shape (`<bot id>:<secret>`); checked before any call so typos fail early. */
export function isBotToken(token: string): boolean {
  return /^\d{1,20}:[A-Za-z0-9_-]{20,100}$/.test(token);
}
