/**
 * `ironclaw channel add|list|remove`: the chat channels the control plane
 * runs (Telegram for now), kept in the encrypted state database.
 *
 * Offline, like `keys rotate`: the commands take the state directory's lock,
 * so they refuse while a control plane holds it (it reads its channels when
 * it starts). The token is never stored: a channel records the NAME of the
 * environment variable holding it (see `src/channels/telegram/channel_config.ts`).
 *
 * This module does not load grammY; {@link checkTelegramToken} loads it on
 * first use.
 *
 * @module
 */
import type { Command } from "commander";
import { resolveLibraryPath } from "../contract/sqlite/mod.ts";
import { defaultStateDir, lockStateDir, StateDirBusyError } from "../src/control_plane/mod.ts";
import { MASTER_KEY_FILE, STATE_DB_KEY_ID } from "../src/keys/mod.ts";
import { openStateKeys, type PassphraseFlags, withPassphraseFlag } from "./key_custody.ts";
import { StateDb } from "../src/state/mod.ts";
import {
  API_ROOT_ENV,
  CHANNEL_TYPES,
  type ChannelConfig,
  ChannelConfigStore,
  TELEGRAM_API_ROOT,
  type TelegramCheck,
  type TelegramCheckInput,
} from "../src/channels/telegram/mod.ts";
import { CliError } from "./errors.ts";
import { type CliIo, printJson, printListing, processIo } from "./output.ts";

/** Opens the channel table of `stateDir` under its lock; refuses a directory in use or never initialised. */
export async function withChannels<T>(
  stateDir: string,
  fn: (channels: ChannelConfigStore) => T,
  options: { library?: string; readOnly?: boolean; flags?: PassphraseFlags; interactive?: boolean } = {},
): Promise<T> {
  try {
    await Deno.lstat(`${stateDir}/${MASTER_KEY_FILE}`);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new CliError(
        `${stateDir} holds no IronClaw state yet: run \`ironclaw serve\` once (wrong --state-dir?)`,
      );
    }
    throw err;
  }
  // A reader (doctor) may share the directory with a running control plane: SQLite's own locks suffice.
  let release = () => {};
  try {
    if (!options.readOnly) release = lockStateDir(stateDir);
  } catch (err) {
    if (err instanceof StateDirBusyError) {
      throw new CliError(
        `${stateDir} is in use by a running control plane (pid ${err.pid}): stop it, change channels, start it again`,
      );
    }
    throw err;
  }
  try {
    const keys = await openStateKeys(stateDir, {
      flags: options.flags ?? {},
      interactive: options.interactive ?? false,
    });
    const key = await keys?.get(STATE_DB_KEY_ID);
    if (!key) throw new CliError(`${stateDir} has no state database yet: run \`ironclaw serve\` once`);
    using state = StateDb.open(stateDir, { library: options.library ?? resolveLibraryPath(), key });
    return fn(new ChannelConfigStore(state));
  } finally {
    release();
  }
}

/** A channel as `channel list` shows it. */
export interface ChannelRow {
  name: string;
  type: string;
  tokenEnv: string;
  /** Whether the variable is set in this shell (the control plane's environment may differ). */
  tokenSet: boolean;
  apiRoot: string;
  mode: "polling" | "webhook";
  webhookUrl: string | null;
  updatedAt: string;
}

function row(c: ChannelConfig, env: { get(name: string): string | undefined }): ChannelRow {
  return {
    name: c.name,
    type: c.type,
    tokenEnv: c.tokenEnv,
    tokenSet: (env.get(c.tokenEnv) ?? "").trim() !== "",
    apiRoot: c.apiRoot ?? env.get(API_ROOT_ENV) ?? TELEGRAM_API_ROOT,
    mode: c.webhookUrl ? "webhook" : "polling",
    webhookUrl: c.webhookUrl,
    updatedAt: c.updatedAt,
  };
}

/**
 * The doctor's Telegram check (`getMe` with the token); loads grammY on
 * first use so the CLI starts without it.
 */
export async function checkTelegramToken(input: TelegramCheckInput): Promise<TelegramCheck> {
  const { checkTelegramToken: check } = await import("../src/channels/telegram/runtime.ts");
  return await check(input);
}

/** Registers `channel add|list|remove` on `program`. */
export function registerChannelCommands(program: Command, io: CliIo = processIo()): void {
  const env = Deno.env;
  const channel = program.command("channel").description(
    "chat channels the control plane runs (offline; stop the control plane first)",
  );
  const stateDirOption = ["--state-dir <dir>", "the state directory (default: the standard one)"] as const;

  withPassphraseFlag(
    channel.command("add")
      .description(
        "add (or reconfigure) a channel; its token stays in an environment variable, never on disk",
      )
      .argument("<type>", `channel type (${CHANNEL_TYPES.join(", ")})`)
      .requiredOption("--token-env <var>", "the environment variable holding the bot token")
      .option("--api-root <url>", `Bot API server (default $${API_ROOT_ENV}, else ${TELEGRAM_API_ROOT})`)
      .option(
        "--webhook-url <url>",
        "receive updates by webhook at this public https URL (default: long polling)",
      )
      .option(...stateDirOption)
      .option("--json", "print the channel as JSON"),
  )
    .action(async (
      type: string,
      opts: {
        tokenEnv: string;
        apiRoot?: string;
        webhookUrl?: string;
        stateDir?: string;
        json?: boolean;
      } & PassphraseFlags,
    ) => {
      const { channel: added, created } = await withChannels(
        opts.stateDir ?? defaultStateDir(),
        (channels) =>
          channels.put({
            type,
            tokenEnv: opts.tokenEnv,
            apiRoot: opts.apiRoot ?? env.get(API_ROOT_ENV) ?? null,
            webhookUrl: opts.webhookUrl ?? null,
          }),
        { flags: opts, interactive: io.interactive },
      );
      const shown = row(added, env);
      if (opts.json) return printJson(io, shown);
      io.out(
        `${created ? "added" : "updated"} channel ${shown.name}: token from $${shown.tokenEnv}, ` +
          `${
            shown.mode === "webhook" ? `webhook at ${shown.webhookUrl}` : "long polling"
          } via ${shown.apiRoot}; ` +
          "it starts with the control plane",
      );
      if (!shown.tokenSet) {
        io.err(`note: $${shown.tokenEnv} is not set in this shell; set it where IronClaw runs`);
      }
    });

  withPassphraseFlag(
    channel.command("list")
      .description("list configured channels")
      .option(...stateDirOption)
      .option("--json", "machine-readable output"),
  )
    .action(async (opts: { stateDir?: string; json?: boolean } & PassphraseFlags) => {
      // Reading needs no stop: alongside a running control plane, SQLite's own locks suffice.
      const rows = await withChannels(
        opts.stateDir ?? defaultStateDir(),
        (c) => c.list().map((x) => row(x, env)),
        { flags: opts, interactive: io.interactive, readOnly: true },
      );
      printListing(io, opts, rows, [
        { header: "NAME", cell: (r) => r.name },
        { header: "TOKEN", cell: (r) => `$${r.tokenEnv}${r.tokenSet ? "" : " (unset here)"}` },
        { header: "MODE", cell: (r) => r.mode },
        { header: "API", cell: (r) => r.apiRoot },
      ], "no channels (add one with `ironclaw channel add telegram --token-env VAR`)");
    });

  withPassphraseFlag(
    channel.command("remove")
      .description("remove a channel (its update cursor too)")
      .argument("<name>", "the channel's name (its type)")
      .option(...stateDirOption),
  )
    .action(async (name: string, opts: { stateDir?: string } & PassphraseFlags) => {
      const removed = await withChannels(opts.stateDir ?? defaultStateDir(), (c) => c.remove(name), {
        flags: opts,
        interactive: io.interactive,
      });
      if (!removed) throw new CliError(`no channel ${name}`);
      io.out(`removed channel ${name}`);
    });
}
