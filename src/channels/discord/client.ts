/**
 * The bot's connection to Discord, on the official libraries: REST through
 * `@discordjs/rest` (its per-route buckets and global limit honoured: a
 * request waits for its bucket, a 429 is waited out by its `retry_after`,
 * and a wait longer than {@link MAX_RATE_LIMIT_WAIT_MS} is handed back as an
 * error so delivery retries later instead of holding up the channel) and the
 * Gateway through `@discordjs/ws` (heartbeats, resuming a dropped
 * connection at its `resume_gateway_url`), typed by `@discordjs/core`.
 *
 * The bot token stays in this object: every error and log line is scrubbed
 * of it, and of interaction tokens (the secret part of a callback URL).
 *
 * @module
 */
import { API } from "@discordjs/core";
import { DiscordAPIError, HTTPError, RateLimitError, REST } from "@discordjs/rest";
import { type SessionInfo, WebSocketManager } from "@discordjs/ws";
import type { logger } from "../../log/mod.ts";
import { DISCORD_INTENTS } from "./intents.ts";

/** The longest rate-limit wait a request sits out; a longer one fails the request (delivery retries later). */
export const MAX_RATE_LIMIT_WAIT_MS = 30_000;

/** Hosts attachments are fetched from (Discord's CDN); with an API root override, its own host too. */
const CDN_HOSTS = new Set(["cdn.discordapp.com", "media.discordapp.net"]);

/** What the gateway's session store is asked for: the session to resume, with the last event handled. */
export interface SessionStore {
  retrieve(): SessionInfo | null;
  update(info: SessionInfo | null): void;
}

/** A Discord API error, scrubbed; `permanent` when retrying cannot help (the channel or permission is gone). */
export class DiscordChannelError extends Error {
  override name = "DiscordChannelError";
  constructor(message: string, readonly permanent: boolean) {
    super(message);
  }
}

/** REST, gateway and typed API of one bot. */
export class DiscordClient {
  readonly rest: REST;
  readonly api: API;
  readonly gateway: WebSocketManager;
  readonly apiRoot: string;
  #token: string;
  #log: ReturnType<typeof logger>;

  constructor(
    token: string,
    options: { apiRoot: string; sessions: SessionStore; log: ReturnType<typeof logger> },
  ) {
    this.#token = token;
    this.#log = options.log;
    this.apiRoot = options.apiRoot;
    this.rest = new REST({
      api: `${options.apiRoot}/api`,
      version: "10",
      rejectOnRateLimit: (limit) => limit.timeToReset > MAX_RATE_LIMIT_WAIT_MS,
    }).setToken(token);
    this.rest.on("rateLimited", (limit) => {
      this.#log.info("Discord rate limit on {route}: waiting {ms} ms", {
        route: limit.route,
        ms: limit.timeToReset,
      });
    });
    this.api = new API(this.rest);
    this.gateway = new WebSocketManager({
      token,
      intents: DISCORD_INTENTS,
      rest: this.rest,
      retrieveSessionInfo: () => options.sessions.retrieve(),
      updateSessionInfo: (_shard, info) => options.sessions.update(info),
    });
  }

  /** `err` as one scrubbed line. */
  describe(err: unknown): string {
    return this.scrub(describeDiscordError(err));
  }

  /** `text` without the bot token or any interaction token. */
  scrub(text: string): string {
    return scrubSecrets(text, this.#token);
  }

  /** `err` as a {@link DiscordChannelError}: scrubbed, and whether it is permanent. */
  toError(err: unknown): DiscordChannelError {
    if (err instanceof DiscordChannelError) return err;
    const status = err instanceof DiscordAPIError || err instanceof HTTPError ? err.status : 0;
    return new DiscordChannelError(this.describe(err), [400, 403, 404].includes(status));
  }

  /** Logs a warning with `err` described (scrubbed) as `{error}`. */
  warn(message: string, err: unknown, extra: Record<string, unknown> = {}): void {
    this.#log.warn(message, { ...extra, error: this.describe(err) });
  }

  /**
   * Fetches an attachment's URL: only from Discord's CDN (or the API root's
   * own host when overridden), never with the bot token (Discord's CDN URLs
   * are signed), so a crafted message cannot make the host fetch elsewhere.
   */
  async fetchAttachment(url: string, signal: AbortSignal): Promise<Response> {
    const parsed = new URL(url);
    const own = new URL(this.apiRoot);
    const allowed = (parsed.protocol === "https:" && CDN_HOSTS.has(parsed.hostname)) ||
      parsed.origin === own.origin;
    if (!allowed) throw new Error(`attachment host ${parsed.host} is not Discord's CDN`);
    return await fetch(parsed, { signal, redirect: "error" });
  }
}

/** One line for a Discord library error (status, Discord's code, the route), unscrubbed. */
export function describeDiscordError(err: unknown): string {
  if (err instanceof DiscordAPIError) {
    return `${err.method.toUpperCase()} ${routeOf(err.url)}: ${err.status} (code ${err.code}) ${err.message}`;
  }
  if (err instanceof HTTPError) return `${err.method.toUpperCase()} ${routeOf(err.url)}: HTTP ${err.status}`;
  if (err instanceof RateLimitError) {
    return `${err.method.toUpperCase()} ${err.route}: rate limited for ${
      Math.ceil(err.timeToReset / 1000)
    } s`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** `text` without `token` and without interaction tokens (`/interactions/<id>/<token>/`, `/webhooks/<id>/<token>`). */
export function scrubSecrets(text: string, token: string): string {
  const cut = token === "" ? text : text.replaceAll(token, "[token]");
  return cut.replace(/\/(interactions|webhooks)\/(\d+)\/[A-Za-z0-9._-]+/g, "/$1/$2/[token]");
}

function routeOf(url: string): string {
  try {
    return new URL(url).pathname.replace(/^\/api\/v\d+/, "");
  } catch {
    return url;
  }
}
