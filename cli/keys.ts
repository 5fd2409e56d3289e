/**
 * `ironclaw keys rotate`: replaces the host master key and re-wraps every
 * sealed data key under it; `ironclaw keys protect`: puts a plain (file
 * custody) master key under a passphrase. Both offline: the state
 * directory's lock keeps them off a directory a running control plane holds.
 *
 * @module
 */
import type { Command } from "commander";
import { defaultStateDir, lockStateDir, StateDirBusyError } from "../src/control_plane/mod.ts";
import { type KeyCustodian, MASTER_KEY_FILE } from "../src/keys/mod.ts";
import {
  custodyError,
  openStateKeys,
  type PassphraseFlags,
  passphraseSource,
  withPassphraseFlag,
} from "./key_custody.ts";
import { CliError } from "./errors.ts";
import { type CliIo, printJson } from "./output.ts";

/** What a rotation did. Fingerprints identify masters; they are not secret. */
export interface RotationReport {
  stateDir: string;
  previousMaster: string;
  currentMaster: string;
  /** How many sealed keys were re-wrapped. */
  rewrapped: number;
}

/** How the offline key commands reach the keys. */
export interface OfflineKeyOptions {
  flags?: PassphraseFlags;
  /** Whether a passphrase may be prompted for. */
  interactive?: boolean;
}

/**
 * Runs `fn` on the custodian of `stateDir` under the directory's lock.
 * Refuses a directory with no master key (opening would mint one) and one
 * locked by a live process.
 */
async function withStateKeys<T>(
  stateDir: string,
  what: string,
  options: OfflineKeyOptions,
  fn: (custodian: KeyCustodian) => Promise<T>,
): Promise<T> {
  try {
    await Deno.lstat(`${stateDir}/${MASTER_KEY_FILE}`);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new CliError(`${stateDir} holds no ${MASTER_KEY_FILE}: nothing to ${what} (wrong --state-dir?)`);
    }
    throw err;
  }
  let release: () => void;
  try {
    release = lockStateDir(stateDir);
  } catch (err) {
    if (err instanceof StateDirBusyError) {
      throw new CliError(
        `${stateDir} is in use by a running control plane (pid ${err.pid}): stop it, then ${what}`,
      );
    }
    throw err;
  }
  try {
    const custodian = await openStateKeys(stateDir, {
      flags: options.flags ?? {},
      interactive: options.interactive ?? false,
    });
    return await fn(custodian!);
  } catch (err) {
    throw custodyError(err, stateDir);
  } finally {
    release();
  }
}

/** Rotates the master of `stateDir`, keeping its custody mode. */
export function rotateMasterKey(stateDir: string, options: OfflineKeyOptions = {}): Promise<RotationReport> {
  return withStateKeys(stateDir, "rotate", options, async (custodian) => {
    const previousMaster = custodian.fingerprint;
    await custodian.rotate();
    return {
      stateDir,
      previousMaster,
      currentMaster: custodian.fingerprint,
      rewrapped: (await custodian.ids()).length,
    };
  });
}

/**
 * Puts the plain master key of `stateDir` under a passphrase (from the
 * systemd credential, `--passphrase-file`, or asked twice on a terminal).
 * The key itself does not change, so every sealed key and signed report stays valid.
 */
export function protectMasterKey(
  stateDir: string,
  options: OfflineKeyOptions & { scryptLog2N?: number } = {},
): Promise<{ stateDir: string; master: string; custody: "passphrase" }> {
  return withStateKeys(stateDir, "protect", options, async (custodian) => {
    if (custodian.custody === "passphrase") {
      throw new CliError(`the master key of ${stateDir} is already under a passphrase`);
    }
    const ask = passphraseSource(options.flags ?? {}, { interactive: options.interactive ?? false });
    if (!ask) {
      throw new CliError(
        "keys protect needs the new passphrase: --passphrase-file FILE, the systemd credential, or a terminal",
      );
    }
    await custodian.protect(await ask("new"), { scryptLog2N: options.scryptLog2N });
    return { stateDir, master: custodian.fingerprint, custody: "passphrase" as const };
  });
}

/** Registers `keys` and `keys rotate` on `program`. */
export function registerKeysCommands(program: Command, io: CliIo): void {
  const keys = program.command("keys").description(
    "host key custody (offline; stop the control plane first)",
  );
  withPassphraseFlag(
    keys.command("rotate")
      .description("replace the master key and re-wrap every sealed key under it, atomically (custody kept)")
      .option("--state-dir <dir>", "the state directory (default: the standard one)")
      .option("--json", "machine-readable output"),
  ).action(async (opts: { stateDir?: string; json?: boolean } & PassphraseFlags) => {
    const report = await rotateMasterKey(opts.stateDir ?? defaultStateDir(), {
      flags: opts,
      interactive: io.interactive,
    });
    if (opts.json) return printJson(io, report);
    io.out(
      `rotated the master key of ${report.stateDir}: ${report.previousMaster} → ${report.currentMaster} ` +
        `(${report.rewrapped} sealed key${report.rewrapped === 1 ? "" : "s"} re-wrapped)`,
    );
  });
  withPassphraseFlag(
    keys.command("protect")
      .description(
        "put a plain master key (file custody) under a passphrase: wrapped with scrypt + AES-256-GCM, same key",
      )
      .option("--state-dir <dir>", "the state directory (default: the standard one)")
      .option("--json", "machine-readable output"),
  ).action(async (opts: { stateDir?: string; json?: boolean } & PassphraseFlags) => {
    const report = await protectMasterKey(opts.stateDir ?? defaultStateDir(), {
      flags: opts,
      interactive: io.interactive,
    });
    if (opts.json) return printJson(io, report);
    io.out(
      `the master key of ${report.stateDir} (${report.master}) is now under a passphrase; ` +
        "serve asks for it, or reads --passphrase-file or the systemd credential ironclaw-master-passphrase",
    );
  });
}
