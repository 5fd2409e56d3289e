/**
 * Where the CLI finds the master-key passphrase, and how it opens a state
 * directory's keys offline. The passphrase comes from, in order:
 *
 * 1. the systemd credential `ironclaw-master-passphrase`
 *    (`$CREDENTIALS_DIRECTORY/ironclaw-master-passphrase`, `LoadCredential=`);
 * 2. `--passphrase-file FILE` (owner-only);
 * 3. a hidden prompt, when standard input is a terminal.
 *
 * It is read only when the master key is (or is about to be) under a
 * passphrase, and never from the command line or the environment itself.
 *
 * @module
 */
import type { Command } from "commander";
import {
  type CustodyOptions,
  KEY_CUSTODY_MODES,
  KeyCustodian,
  type KeyCustodyMode,
  MASTER_KEY_FILE,
  MasterKeyError,
  type PassphraseSource,
  privateFileProblem,
} from "../src/keys/mod.ts";
import { CliError, describeError } from "./errors.ts";

/** The systemd credential that holds the master-key passphrase. */
export const PASSPHRASE_CREDENTIAL = "ironclaw-master-passphrase";

/** Flags of every command that opens a state directory's keys. */
export interface PassphraseFlags {
  passphraseFile?: string;
}

/** Adds `--passphrase-file` to `command`. */
export function withPassphraseFlag(command: Command): Command {
  return command.option(
    "--passphrase-file <file>",
    `the master-key passphrase, when the key is under one (default: the systemd credential ${PASSPHRASE_CREDENTIAL}, ` +
      "else a hidden prompt on a terminal)",
  );
}

/** Reads a passphrase file: its content without one trailing newline. */
async function readPassphraseFile(path: string, options: { private: boolean }): Promise<string> {
  let text: string;
  try {
    if (options.private) {
      const problem = privateFileProblem(path, await Deno.stat(path));
      if (problem) throw new CliError(`passphrase file ${path} ${problem}`);
    }
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`cannot read the passphrase file ${path}: ${describeError(err)}`);
  }
  const passphrase = text.replace(/\r?\n$/, "");
  if (!passphrase) throw new CliError(`the passphrase file ${path} is empty`);
  return passphrase;
}

/** Where a passphrase would come from, or undefined when nowhere (not a terminal, no credential or file). */
export function passphraseSource(
  flags: PassphraseFlags,
  options: { interactive: boolean; env?: (name: string) => string | undefined },
): PassphraseSource | undefined {
  const credentials = (options.env ?? Deno.env.get)("CREDENTIALS_DIRECTORY");
  if (credentials) {
    const path = `${credentials}/${PASSPHRASE_CREDENTIAL}`;
    try {
      Deno.statSync(path);
      return () => readPassphraseFile(path, { private: false });
    } catch { /* no such credential: the next source */ }
  }
  if (flags.passphraseFile) {
    const path = flags.passphraseFile;
    return () => readPassphraseFile(path, { private: true });
  }
  if (options.interactive) return promptPassphrase;
  return undefined;
}

async function promptPassphrase(purpose: "unlock" | "new"): Promise<string> {
  const first = await promptHidden(
    purpose === "new" ? "new master-key passphrase: " : "master-key passphrase: ",
  );
  if (purpose === "unlock") return first;
  if (await promptHidden("again: ") !== first) throw new CliError("the passphrases do not match");
  return first;
}

/** Reads one line from the terminal without echoing it. */
export async function promptHidden(prompt: string): Promise<string> {
  const encoder = new TextEncoder();
  Deno.stderr.writeSync(encoder.encode(prompt));
  Deno.stdin.setRaw(true);
  const typed: number[] = [];
  try {
    const byte = new Uint8Array(1);
    while (true) {
      if (await Deno.stdin.read(byte) === null) break;
      const b = byte[0];
      if (b === 0x0d || b === 0x0a) break;
      if (b === 0x03 || b === 0x04) throw new CliError("cancelled");
      if (b === 0x7f || b === 0x08) typed.pop();
      else typed.push(b);
    }
  } finally {
    Deno.stdin.setRaw(false);
    Deno.stderr.writeSync(encoder.encode("\n"));
  }
  return new TextDecoder().decode(new Uint8Array(typed));
}

/** A key-custody failure as one CLI line with its fix. */
export function custodyError(err: unknown, stateDir: string): unknown {
  if (!(err instanceof MasterKeyError)) return err;
  const fixes: Partial<Record<MasterKeyError["kind"], string>> = {
    locked:
      `pass --passphrase-file FILE, the systemd credential ${PASSPHRASE_CREDENTIAL}, or run on a terminal`,
    passphrase: "check the passphrase (the key file is unchanged)",
    weak_passphrase: "choose a longer passphrase",
    plain: `run \`ironclaw keys protect --state-dir ${stateDir}\`, or serve with --key-custody file (weak)`,
  };
  const fix = fixes[err.kind];
  return new CliError(fix ? `${err.message}: ${fix}` : err.message);
}

/**
 * Opens the key custodian of an existing `stateDir` (undefined when it holds
 * no master key), asking for the passphrase only if the key is under one.
 */
export async function openStateKeys(
  stateDir: string,
  options: { flags: PassphraseFlags; interactive: boolean },
): Promise<KeyCustodian | undefined> {
  try {
    await Deno.lstat(`${stateDir}/${MASTER_KEY_FILE}`);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  try {
    return await KeyCustodian.open(stateDir, {
      passphrase: passphraseSource(options.flags, { interactive: options.interactive }),
    });
  } catch (err) {
    throw custodyError(err, stateDir);
  }
}

/** `serve`'s custody flags. */
export interface CustodyFlags extends PassphraseFlags {
  keyCustody?: string;
}

/**
 * How `serve` keeps the master: `--key-custody` (passphrase, or the labelled
 * weak `file`), by default `file` with `--dev` and `passphrase` otherwise. An
 * existing plain key keeps working unless `--key-custody passphrase` is given.
 */
export function serveCustody(
  flags: CustodyFlags & { dev?: boolean },
  options: { interactive: boolean },
): CustodyOptions {
  const named = flags.keyCustody;
  if (named !== undefined && !(KEY_CUSTODY_MODES as readonly string[]).includes(named)) {
    throw new CliError(`--key-custody ${named}: expected one of ${KEY_CUSTODY_MODES.join(", ")}`);
  }
  const mode = (named ?? (flags.dev ? "file" : "passphrase")) as KeyCustodyMode;
  return {
    mode,
    requirePassphrase: named === "passphrase",
    passphrase: passphraseSource(flags, options),
  };
}

/** How a custody mode reads in `status` and `doctor`. */
export function describeCustody(mode: KeyCustodyMode): string {
  return mode === "passphrase"
    ? "passphrase (master key wrapped with scrypt + AES-256-GCM)"
    : "file (WEAK, development: the master key is plaintext beside the data; `ironclaw keys protect` wraps it)";
}
