/**
 * Configured chat channels (`ironclaw channel add|list|remove`), in the
 * encrypted state database.
 *
 * The bot token itself is never stored: a channel records the NAME of the
 * environment variable that holds it, read by the control plane when the
 * channel starts. That keeps the secret where the operator already guards
 * secrets (a systemd credential, an `EnvironmentFile`, a secret manager), out
 * of the state directory and its backups, out of shell history and process
 * listings (no token on a command line), and lets the token be rotated
 * without touching IronClaw's state.
 *
 * @module
 */
import { z } from "zod";
import { nowTimestamp, type Timestamp } from "../../../contract/time.ts";
import type { Database, Row } from "../../../contract/sqlite/mod.ts";
import { InvalidInputError, NotFoundError, type StateDb } from "../../state/mod.ts";
import { API_ROOT_ENV, checkApiRoot, TELEGRAM_API_ROOT } from "./api_root.ts";

/** Channel types this build can run. */
export const CHANNEL_TYPES = ["telegram"] as const;
export type ChannelKind = (typeof CHANNEL_TYPES)[number];

/** An environment variable name. */
export const EnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, {
  message: "environment variable names are letters, digits and '_', not starting with a digit",
});

/** One configured channel. */
export interface ChannelConfig {
  /** The channel's name: its channel type (one bot per type). */
  name: string;
  type: ChannelKind;
  /** The environment variable holding the token. */
  tokenEnv: string;
  /** The Bot API server, when not the default. */
  apiRoot: string | null;
  /** Webhook mode's public URL; null means long polling. */
  webhookUrl: string | null;
  createdAt: Timestamp;
  updatedAt: Timestamp;
}

/** What adding a channel takes. */
export interface ChannelConfigInput {
  type: string;
  tokenEnv: string;
  apiRoot?: string | null;
  webhookUrl?: string | null;
}

function decode(r: Row): ChannelConfig {
  return {
    name: r.name as string,
    type: r.type as ChannelKind,
    tokenEnv: r.token_env as string,
    apiRoot: r.api_root as string | null,
    webhookUrl: r.webhook_url as string | null,
    createdAt: r.created_at as Timestamp,
    updatedAt: r.updated_at as Timestamp,
  };
}

/** `url` checked as a webhook address: https only (Telegram refuses anything else). */
export function checkWebhookUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidInputError(`invalid webhook URL ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== "https:") throw new InvalidInputError("invalid webhook URL: Telegram needs https");
  if (parsed.username || parsed.password) throw new InvalidInputError("invalid webhook URL: no credentials");
  return parsed.href;
}

/** The channel table. */
export class ChannelConfigStore {
  #db: Database;
  #now: () => Timestamp;

  constructor(state: StateDb, options: { now?: () => Timestamp } = {}) {
    this.#db = state.db;
    this.#now = options.now ?? nowTimestamp;
  }

  /** Adds the channel, or replaces its settings (`created` false). Throws `InvalidInputError`. */
  put(input: ChannelConfigInput): { channel: ChannelConfig; created: boolean } {
    if (!(CHANNEL_TYPES as readonly string[]).includes(input.type)) {
      throw new InvalidInputError(
        `unknown channel type ${JSON.stringify(input.type)} (known: ${CHANNEL_TYPES.join(", ")})`,
      );
    }
    const env = EnvName.safeParse(input.tokenEnv);
    if (!env.success) throw new InvalidInputError(`invalid --token-env: ${env.error.issues[0].message}`);
    const apiRoot = input.apiRoot ? checkApiRoot(input.apiRoot) : null;
    const webhookUrl = input.webhookUrl ? checkWebhookUrl(input.webhookUrl) : null;
    const now = this.#now();
    return this.#db.transaction(() => {
      const created = this.#db.get("SELECT 1 AS x FROM channels WHERE name = ?", [input.type]) === undefined;
      this.#db.run(
        `INSERT INTO channels (name, type, token_env, api_root, webhook_url, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET token_env = excluded.token_env, api_root = excluded.api_root,
           webhook_url = excluded.webhook_url, updated_at = excluded.updated_at`,
        [input.type, input.type, env.data, apiRoot, webhookUrl, now, now],
      );
      return { channel: this.get(input.type), created };
    });
  }

  /** The channel `name`; throws `NotFoundError`. */
  get(name: string): ChannelConfig {
    const row = this.#db.get("SELECT * FROM channels WHERE name = ?", [name]);
    if (!row) throw new NotFoundError("channel", name);
    return decode(row);
  }

  /** The channel `name`, if configured. */
  find(name: string): ChannelConfig | undefined {
    const row = this.#db.get("SELECT * FROM channels WHERE name = ?", [name]);
    return row && decode(row);
  }

  /** Every configured channel, by name. */
  list(): ChannelConfig[] {
    return this.#db.all("SELECT * FROM channels ORDER BY name").map(decode);
  }

  /** Removes the channel `name` (its cursor too); false when there was none. */
  remove(name: string): boolean {
    return this.#db.transaction(() => {
      this.#db.run("DELETE FROM channel_cursors WHERE channel = ?", [name]);
      return this.#db.run("DELETE FROM channels WHERE name = ?", [name]) === 1;
    });
  }
}

/** What a channel needs at start, resolved from its configuration and the environment. */
export interface TelegramSettings {
  token: string;
  apiRoot: string;
  webhookUrl: string | null;
}

/**
 * The token (from the configured variable) and the API root (the
 * configuration's, else `$IRONCLAW_TELEGRAM_API_ROOT`, else Telegram's).
 * Throws `InvalidInputError` when the variable is unset or empty; the
 * message names the variable, never a value.
 */
export function resolveTelegramSettings(
  config: ChannelConfig,
  env: { get(name: string): string | undefined } = Deno.env,
): TelegramSettings {
  const token = env.get(config.tokenEnv) ?? "";
  if (token.trim() === "") {
    throw new InvalidInputError(`channel ${config.name}: $${config.tokenEnv} (its bot token) is not set`);
  }
  return {
    token: token.trim(),
    apiRoot: checkApiRoot(config.apiRoot ?? env.get(API_ROOT_ENV) ?? TELEGRAM_API_ROOT),
    webhookUrl: config.webhookUrl,
  };
}
