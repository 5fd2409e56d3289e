/**
 * `ironclaw backup` and `ironclaw restore`. A backup is taken by the running
 * control plane when one holds the state directory (`POST /v1/backup`: it
 * owns the lock and the writers), else offline under the directory's lock.
 * Either way the file is still encrypted and checksummed (see `src/backup`).
 *
 * @module
 */
import type { Command } from "commander";
import { resolveLibraryPath } from "../contract/sqlite/mod.ts";
import {
  BackupFormatError,
  decodeBackup,
  restoreBackup,
  RestoreTargetError,
  takeSnapshot,
} from "../src/backup/mod.ts";
import {
  defaultStateDir,
  lockHolder,
  lockStateDir,
  openStores,
  StateDirBusyError,
} from "../src/control_plane/mod.ts";
import { MASTER_KEY_FILE, syncDir, writeAll } from "../src/keys/mod.ts";
import { dirname } from "node:path";
import { ApiClient, type ClientFlags, withClientFlags } from "./client.ts";
import { CliError } from "./errors.ts";
import { custodyError, type PassphraseFlags, passphraseSource, withPassphraseFlag } from "./key_custody.ts";
import type { CliIo } from "./output.ts";

/** The backup of `stateDir`: from its running plane, else taken here under the directory's lock. */
export async function fetchBackup(
  flags: ClientFlags & PassphraseFlags,
  options: { interactive: boolean },
): Promise<{ bytes: Uint8Array<ArrayBuffer>; by: string }> {
  const stateDir = flags.stateDir ?? defaultStateDir();
  if (flags.apiUrl || lockHolder(stateDir) !== undefined) {
    const client = ApiClient.fromFlags(flags);
    return {
      bytes: await client.download((api) => api.v1.backup.$post()),
      by: `the control plane at ${client.baseUrl}`,
    };
  }
  try {
    await Deno.lstat(`${stateDir}/${MASTER_KEY_FILE}`);
  } catch {
    throw new CliError(`${stateDir} holds no IronClaw state (no ${MASTER_KEY_FILE}): wrong --state-dir?`);
  }
  let release: () => void;
  try {
    release = lockStateDir(stateDir);
  } catch (err) {
    if (err instanceof StateDirBusyError) {
      throw new CliError(`${stateDir} is in use (pid ${err.pid}) but its API did not answer: pass --api-url`);
    }
    throw err;
  }
  try {
    const stores = await openStores(stateDir, {
      library: resolveLibraryPath(),
      keyCustody: { passphrase: passphraseSource(flags, options) },
    });
    try {
      return {
        bytes: (await takeSnapshot(stores)).bytes,
        by: `${stateDir} (offline: nothing was serving it)`,
      };
    } finally {
      await stores.close();
    }
  } catch (err) {
    throw custodyError(err, stateDir);
  } finally {
    release();
  }
}

/** Writes `bytes` to `path` (0600) through a temporary name, so a half-written backup never has the real name. */
async function writeNewFile(path: string, bytes: Uint8Array): Promise<void> {
  if (await Deno.lstat(path).then(() => true, () => false)) {
    throw new CliError(`${path} exists: choose a new --out (a backup never overwrites another)`);
  }
  const partial = `${path}.partial`;
  try {
    await using file = await Deno.open(partial, { createNew: true, write: true, mode: 0o600 });
    await writeAll(file, bytes);
    await file.sync();
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) throw new CliError(`${partial} exists: remove it first`);
    throw err;
  }
  await Deno.rename(partial, path);
  await syncDir(dirname(path) || ".");
}

/** Registers `backup` and `restore` on `program`. */
export function registerBackupCommands(program: Command, io: CliIo): void {
  withPassphraseFlag(withClientFlags(
    program.command("backup")
      .description(
        "write a consistent, still-encrypted snapshot of the state directory to one checksummed file " +
          "(taken by the running control plane, or offline when nothing serves)",
      )
      .requiredOption("--out <file>", "where to write the backup (must not exist; written mode 0600)"),
  )).action(async (opts: ClientFlags & PassphraseFlags & { out: string }) => {
    const { bytes, by } = await fetchBackup(opts, { interactive: io.interactive });
    const { manifest } = decodeBackup(bytes);
    await writeNewFile(opts.out, bytes);
    io.out(
      `backup written to ${opts.out}: ${manifest.members.length} files, ${bytes.length} bytes, schema ` +
        `${manifest.schemaVersion}, taken by ${by}`,
    );
    if (manifest.masterKey === "separate") {
      io.out(
        `the master key is under file custody (plaintext), so it is NOT in the backup: keep a copy of ` +
          `${
            opts.stateDir ?? defaultStateDir()
          }/${MASTER_KEY_FILE} apart from it, or wrap it first with \`ironclaw keys protect\``,
      );
    }
  });

  program.command("restore")
    .description(
      "restore a backup into a new or empty state directory (all or nothing; checksums checked first)",
    )
    .argument("<file>", "the backup file")
    .requiredOption("--state-dir <dir>", "the directory to create (missing or empty)")
    .option(
      "--master-key <file>",
      "the host-master.key of a file-custody backup (such backups do not hold it)",
    )
    .action(async (file: string, opts: { stateDir: string; masterKey?: string }) => {
      let bytes: Uint8Array<ArrayBuffer>;
      try {
        bytes = await Deno.readFile(file);
      } catch (err) {
        throw new CliError(`cannot read ${file}: ${err instanceof Error ? err.message : err}`);
      }
      try {
        const manifest = await restoreBackup(bytes, opts.stateDir, { masterKeyFile: opts.masterKey });
        io.out(
          `restored ${manifest.members.length} files from the backup of ${manifest.createdAt} into ${opts.stateDir}; ` +
            `check it with: ironclaw audit verify --offline --state-dir ${opts.stateDir}`,
        );
      } catch (err) {
        if (err instanceof BackupFormatError || err instanceof RestoreTargetError) {
          throw new CliError(`restore refused, nothing written: ${err.message}`);
        }
        throw err;
      }
    });
}
