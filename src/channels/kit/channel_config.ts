/**
 * Configured chat channels (`ironclaw channel add|list|remove`), in the
 * encrypted state database.
 *
 * A secret is never stored: a channel records the NAMES of the environment
 * variables that hold its token(s), read by the control plane when the
 * channel starts. That keeps secrets where the operator already guards
 * them (a systemd credential, an `EnvironmentFile`, a secret manager), out
 * of the state directory and its backups, out of shell history and process
 * listings (no token on a command line), and lets a token be rotated
 * without touching IronClaw's state.
 *
 * @module
 */
import { z } from "zod";
import { nowTimestamp, type Timestamp } from "../../../contract/time.ts";
import type { Database, Row } from "../../../contract/sqlite/mod.ts";
import { InvalidInputError, NotFoundError, type StateDb } from "../../state/mod.ts";
import { checkApiRoot } from "./api_root.ts";

/** An environment variable name. */
export const EnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, {
  message: "environment variable names are letters, digits and '_', not starting with a digit",
});

/** A channel type's name, as registered (`telegram`, `slack`). */
const ChannelType = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/);

/** Where a value comes from: the host's environment (the plane's own, or a map in tests). */
export interface Env {
  get(name: string): string | undefined;
}

/** One configured channel. */
export interface ChannelConfig {
  /** The channel's name: its channel type (one bot per type). */
  name: string;
  type: string;
  /** The environment variable holding the main token. */
  tokenEnv: string;
  /** The variables holding the channel's other secrets, by role (Slack's `app`, `signing`). */
  secretEnvs: Record<string, string>;
  /** The API server, when not the platform's. */
  apiRoot: string | null;
  /** Webhook mode's public URL (the platform posts to us); null means the channel reaches out itself. */
  webhookUrl: string | null;
  createdAt: Timestamp;
  updatedAt: Timestamp;
}

/** What adding a channel takes. */
export interface ChannelConfigInput {
  type: string;
  tokenEnv: string;
  secretEnvs?: Record<string, string>;
  apiRoot?: string | null;
  webhookUrl?: string | null;
}

function decode(r: Row): ChannelConfig {
  return {
    name: r.name as string,
    type: r.type as string,
    tokenEnv: r.token_env as string,
    secretEnvs: JSON.parse(r.secret_envs as string),
    apiRoot: r.api_root as string | null,
    webhookUrl: r.webhook_url as string | null,
    createdAt: r.created_at as Timestamp,
    updatedAt: r.updated_at as Timestamp,
  };
}

/** `url` checked as a webhook address: https only (the platforms refuse anything else). */
export function checkWebhookUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidInputError(`invalid webhook URL ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== "https:") {
    throw new InvalidInputError("invalid webhook URL: the platform needs https");
  }
  if (parsed.username || parsed.password) throw new InvalidInputError("invalid webhook URL: no credentials");
  return parsed.href;
}

/** `name` checked as an environment variable name; `flag` names the option in the error. */
export function checkEnvName(name: string, flag: string): string {
  const env = EnvName.safeParse(name);
  if (!env.success) throw new InvalidInputError(`invalid ${flag}: ${env.error.issues[0].message}`);
  return env.data;
}

/**
 * The value of the variable `name` (trimmed). Throws `InvalidInputError`
 * when it is unset or empty; the message names the variable and what it
 * holds (`what`), never a value.
 */
export function readSecret(name: string, options: { env?: Env; what: string; channel: string }): string {
  const value = (options.env ?? Deno.env).get(name) ?? "";
  if (value.trim() === "") {
    throw new InvalidInputError(`channel ${options.channel}: $${name} (${options.what}) is not set`);
  }
  return value.trim();
}

/** The channel table. */
export class ChannelConfigStore {
  #db: Database;
  #now: () => Timestamp;

  constructor(state: StateDb, options: { now?: () => Timestamp } = {}) {
    this.#db = state.db;
    this.#now = options.now ?? nowTimestamp;
  }

  /**
   * Adds the channel, or replaces its settings (`created` false). Names are
   * checked here; whether the type is one this build runs is the channel
   * registry's to say. Throws `InvalidInputError`.
   */
  put(input: ChannelConfigInput): { channel: ChannelConfig; created: boolean } {
    const type = ChannelType.safeParse(input.type);
    if (!type.success) throw new InvalidInputError(`invalid channel type ${JSON.stringify(input.type)}`);
    const tokenEnv = checkEnvName(input.tokenEnv, "--token-env");
    const secretEnvs = Object.fromEntries(
      Object.entries(input.secretEnvs ?? {}).map((
        [role, name],
      ) => [role, checkEnvName(name, `--${role}-env`)]),
    );
    const apiRoot = input.apiRoot ? checkApiRoot(input.apiRoot) : null;
    const webhookUrl = input.webhookUrl ? checkWebhookUrl(input.webhookUrl) : null;
    const now = this.#now();
    return this.#db.transaction(() => {
      const created = this.#db.get("SELECT 1 AS x FROM channels WHERE name = ?", [type.data]) === undefined;
      this.#db.run(
        `INSERT INTO channels (name, type, token_env, secret_envs, api_root, webhook_url, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET token_env = excluded.token_env, secret_envs = excluded.secret_envs,
           api_root = excluded.api_root, webhook_url = excluded.webhook_url, updated_at = excluded.updated_at`,
        [type.data, type.data, tokenEnv, JSON.stringify(secretEnvs), apiRoot, webhookUrl, now, now],
      );
      return { channel: this.get(type.data), created };
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

  /** Removes the channel `name` (its cursor and kept gateway session too); false when there was none. */
  remove(name: string): boolean {
    return this.#db.transaction(() => {
      this.#db.run("DELETE FROM channel_cursors WHERE channel = ?", [name]);
      this.#db.run("DELETE FROM channel_gateway_sessions WHERE channel = ?", [name]);
      return this.#db.run("DELETE FROM channels WHERE name = ?", [name]) === 1;
    });
  }
}
