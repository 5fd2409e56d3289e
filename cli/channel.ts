/**
 * `ironclaw channel add|list|remove`: the chat channels the control plane
 * runs, generic over the channel registry (`src/channels/registry.ts`: each
 * kind's secret options, API root and webhook option), kept in the
 * encrypted state database.
 *
 * Offline, like `keys rotate`: the commands take the state directory's lock,
 * so they refuse while a control plane holds it (it reads its channels when
 * it starts). The token is never stored: a channel records the NAME of the
 * environment variable holding it (see `src/channels/kit/channel_config.ts`).
 *
 * This module loads no platform library; a kind's `doctor` loads its own on
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
  CHANNEL_KINDS,
  type ChannelConfig,
  ChannelConfigStore,
  type ChannelKind,
  channelKind,
  type Env,
} from "../src/channels/mod.ts";
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
  /** The variables of its other secrets, by role, and whether each is set here. */
  secretEnvs: Record<string, { env: string; set: boolean }>;
  apiRoot: string;
  mode: string;
  webhookUrl: string | null;
  updatedAt: string;
}

const isSet = (env: Env, name: string) => (env.get(name) ?? "").trim() !== "";

function row(c: ChannelConfig, env: Env): ChannelRow {
  const kind = channelKind(c.type);
  return {
    name: c.name,
    type: c.type,
    tokenEnv: c.tokenEnv,
    tokenSet: isSet(env, c.tokenEnv),
    secretEnvs: Object.fromEntries(
      Object.entries(c.secretEnvs).map(([role, name]) => [role, { env: name, set: isSet(env, name) }]),
    ),
    apiRoot: c.apiRoot ?? (kind && (env.get(kind.apiRoot.env) ?? kind.apiRoot.default)) ?? "",
    mode: kind?.mode(c).name ?? "unknown type",
    webhookUrl: c.webhookUrl,
    updatedAt: c.updatedAt,
  };
}

/** Commander's property for option `flag` (`app-token-env` → `appTokenEnv`). */
function optionKey(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Every registered kind's secret options, once each (kinds may share a flag, like `--token-env`). */
function secretFlags(): Map<string, string> {
  const flags = new Map<string, string>();
  for (const kind of CHANNEL_KINDS) {
    for (const s of kind.secrets) {
      const line = `${kind.type}: the variable holding ${s.what}`;
      const help = flags.get(s.flag);
      flags.set(s.flag, help ? `${help}; ${line}` : line);
    }
  }
  return flags;
}

/**
 * The configuration `channel add` stores for `kind` from its options:
 * each secret's variable name, refusing options of other kinds and a
 * missing required one with the fix.
 */
function secretsFrom(
  kind: ChannelKind,
  opts: Record<string, unknown>,
): { tokenEnv: string; secretEnvs: Record<string, string> } {
  const own = new Set(kind.secrets.map((s) => s.flag));
  for (const flag of secretFlags().keys()) {
    if (!own.has(flag) && opts[optionKey(flag)] !== undefined) {
      throw new CliError(
        `--${flag} is not an option of a ${kind.type} channel (its: ${
          kind.secrets.map((s) => `--${s.flag}`).join(", ")
        })`,
      );
    }
  }
  let tokenEnv = "";
  const secretEnvs: Record<string, string> = {};
  for (const s of kind.secrets) {
    const value = opts[optionKey(s.flag)] as string | undefined;
    if (value === undefined) {
      if (s.required) {
        throw new CliError(
          `a ${kind.type} channel needs --${s.flag} <var> (${s.what}), e.g. --${s.flag} ${s.example}`,
        );
      }
      continue;
    }
    if (s.role === "token") tokenEnv = value;
    else secretEnvs[s.role] = value;
  }
  return { tokenEnv, secretEnvs };
}

/** The doctor's check of a configured channel (one real call); loads the platform's library on first use. */
export async function checkChannel(
  config: ChannelConfig,
  env?: Env,
): Promise<{ ok: boolean; detail: string; fix?: string }> {
  const kind = channelKind(config.type);
  if (!kind) {
    return {
      ok: false,
      detail: `channel ${config.name} is of a type this build does not run`,
      fix: `ironclaw channel remove ${config.name}`,
    };
  }
  return await kind.doctor(config, { env });
}

/** Registers `channel add|list|remove` on `program`. */
export function registerChannelCommands(program: Command, io: CliIo = processIo()): void {
  const env = Deno.env;
  const channel = program.command("channel").description(
    "chat channels the control plane runs (offline; stop the control plane first)",
  );
  const stateDirOption = ["--state-dir <dir>", "the state directory (default: the standard one)"] as const;
  const types = CHANNEL_KINDS.map((k) => k.type).join(", ");

  const add = channel.command("add")
    .description(
      "add (or reconfigure) a channel; its tokens stay in environment variables, never on disk",
    )
    .argument("<type>", `channel type (${types})`);
  for (const [flag, help] of secretFlags()) add.option(`--${flag} <var>`, help);
  withPassphraseFlag(
    add
      .option(
        "--api-root <url>",
        `API server (default the platform's: ${
          CHANNEL_KINDS.map((k) => `${k.type} $${k.apiRoot.env}, else ${k.apiRoot.default}`).join("; ")
        })`,
      )
      .option(
        "--webhook-url <url>",
        `receive by webhook at this public https URL (${
          CHANNEL_KINDS.filter((k) => k.webhook).map((k) => `${k.type}: ${k.webhook}`).join("; ")
        })`,
      )
      .option(...stateDirOption)
      .option("--json", "print the channel as JSON"),
  )
    .action(async (
      type: string,
      opts:
        & {
          apiRoot?: string;
          webhookUrl?: string;
          stateDir?: string;
          json?: boolean;
        }
        & PassphraseFlags
        & Record<string, unknown>,
    ) => {
      const kind = channelKind(type);
      if (!kind) throw new CliError(`unknown channel type ${JSON.stringify(type)} (known: ${types})`);
      if (opts.webhookUrl !== undefined && !kind.webhook) {
        throw new CliError(`a ${type} channel cannot be posted to: leave out --webhook-url`);
      }
      const secrets = secretsFrom(kind, opts);
      const webhookUrl = opts.webhookUrl ?? null;
      try {
        kind.check?.({ secretEnvs: secrets.secretEnvs, webhookUrl });
      } catch (err) {
        throw new CliError((err as Error).message);
      }
      const { channel: added, created } = await withChannels(
        opts.stateDir ?? defaultStateDir(),
        (channels) =>
          channels.put({
            type,
            ...secrets,
            apiRoot: opts.apiRoot ?? env.get(kind.apiRoot.env) ?? null,
            webhookUrl,
          }),
        { flags: opts, interactive: io.interactive },
      );
      const shown = row(added, env);
      if (opts.json) return printJson(io, shown);
      const others = Object.entries(shown.secretEnvs).map(([role, s]) =>
        `, ${kind.secrets.find((k) => k.role === role)?.what ?? role} from $${s.env}`
      ).join("");
      io.out(
        `${created ? "added" : "updated"} channel ${shown.name}: token from $${shown.tokenEnv}${others}, ` +
          `${kind.mode(added).phrase} via ${shown.apiRoot}; it starts with the control plane`,
      );
      for (const name of [shown.tokenEnv, ...Object.values(shown.secretEnvs).map((s) => s.env)]) {
        if (!isSet(env, name)) io.err(`note: $${name} is not set in this shell; set it where IronClaw runs`);
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
      const unset = (name: string, set: boolean) => `$${name}${set ? "" : " (unset here)"}`;
      printListing(io, opts, rows, [
        { header: "NAME", cell: (r) => r.name },
        {
          header: "TOKEN",
          cell: (r) =>
            [unset(r.tokenEnv, r.tokenSet), ...Object.values(r.secretEnvs).map((s) => unset(s.env, s.set))]
              .join(" "),
        },
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
