/**
 * Where a platform's API is: its public server by default, or an override
 * (`--api-root`: a self-hosted compatible server, a test double).
 *
 * @module
 */
import { InvalidInputError } from "../../state/mod.ts";

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

/**
 * `url` checked as an API root and without its trailing slashes: `https:`,
 * or plain `http:` only on loopback (tokens travel with every call); no
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
      `invalid API root ${parsed.origin}: use https (plain http only on loopback: the token is in every call)`,
    );
  }
  if (parsed.username || parsed.password || parsed.search || parsed.hash) {
    throw new InvalidInputError("invalid API root: no credentials, query or fragment");
  }
  return `${parsed.origin}${parsed.pathname}`.replace(/\/+$/, "");
}
