/**
 * `ironclaw keys rotate`: replaces the host master key and re-wraps every
 * sealed data key under it, offline. The state directory's lock keeps it off
 * a directory a running control plane holds.
 *
 * @module
 */
import type { Command } from "commander";
import { defaultStateDir, lockStateDir, StateDirBusyError } from "../src/control_plane/mod.ts";
import { KeyCustodian, MASTER_KEY_FILE } from "../src/keys/mod.ts";
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

/**
 * Rotates the master of `stateDir`. Refuses a directory with no master key
 * (it would mint one rather than rotate) and one locked by a live process.
 */
export async function rotateMasterKey(stateDir: string): Promise<RotationReport> {
  try {
    await Deno.lstat(`${stateDir}/${MASTER_KEY_FILE}`);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new CliError(`${stateDir} holds no ${MASTER_KEY_FILE}: nothing to rotate (wrong --state-dir?)`);
    }
    throw err;
  }
  let release: () => void;
  try {
    release = lockStateDir(stateDir);
  } catch (err) {
    if (err instanceof StateDirBusyError) {
      throw new CliError(
        `${stateDir} is in use by a running control plane (pid ${err.pid}): stop it, then rotate`,
      );
    }
    throw err;
  }
  try {
    const custodian = await KeyCustodian.open(stateDir);
    const previousMaster = custodian.fingerprint;
    await custodian.rotate();
    return {
      stateDir,
      previousMaster,
      currentMaster: custodian.fingerprint,
      rewrapped: (await custodian.ids()).length,
    };
  } finally {
    release();
  }
}

/** Registers `keys` and `keys rotate` on `program`. */
export function registerKeysCommands(program: Command, io: CliIo): void {
  const keys = program.command("keys").description(
    "host key custody (offline; stop the control plane first)",
  );
  keys.command("rotate")
    .description("replace the master key and re-wrap every sealed key under it, atomically")
    .option("--state-dir <dir>", "the state directory (default: the standard one)")
    .option("--json", "machine-readable output")
    .action(async (opts: { stateDir?: string; json?: boolean }) => {
      const report = await rotateMasterKey(opts.stateDir ?? defaultStateDir());
      if (opts.json) return printJson(io, report);
      io.out(
        `rotated the master key of ${report.stateDir}: ${report.previousMaster} → ${report.currentMaster} ` +
          `(${report.rewrapped} sealed key${report.rewrapped === 1 ? "" : "s"} re-wrapped)`,
      );
    });
}
