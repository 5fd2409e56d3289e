/**
 * Restores a backup into a new state directory, all or nothing: every
 * checksum is checked before a byte is written, the members are written into
 * a private directory beside the target and read back, and only then is
 * that directory renamed into place. A crash leaves the target as it was
 * (missing or empty) and at worst a `.<name>.restore-*` directory to delete.
 *
 * @module
 */
import { basename, dirname, resolve } from "node:path";
import { inspectMasterKeyFile, MASTER_KEY_FILE, syncDir, writeAll } from "../keys/mod.ts";
import { type BackupManifest, decodeBackup, memberDigest } from "./archive.ts";

/** How to restore. */
export interface RestoreOptions {
  /**
   * A file-custody master key file to put beside the restored state (a
   * backup never holds a master key in the clear); required for such backups.
   */
  masterKeyFile?: string;
}

/** The target exists and holds something: a restore never merges into or replaces state. */
export class RestoreTargetError extends Error {
  override name = "RestoreTargetError";
}

/**
 * Restores `backup` (the file's bytes) into `target`, which must be missing
 * or an empty directory. Throws `BackupFormatError` for a corrupt or
 * foreign file and {@linkcode RestoreTargetError} for a target in use.
 */
export async function restoreBackup(
  backup: Uint8Array<ArrayBuffer>,
  target: string,
  options: RestoreOptions = {},
): Promise<BackupManifest> {
  const { manifest, files } = decodeBackup(backup);
  const targetPath = resolve(target);
  const targetEmpty = await emptyDirOrMissing(targetPath);
  if (targetEmpty === false) {
    throw new RestoreTargetError(`${target} is not empty: restore into a new or empty directory`);
  }
  if (manifest.masterKey === "separate") {
    if (!options.masterKeyFile) {
      throw new RestoreTargetError(
        "this backup was made under file custody and holds no master key: pass --master-key <the old host-master.key>",
      );
    }
    const master = await inspectMasterKeyFile(options.masterKeyFile);
    files.set(MASTER_KEY_FILE, master.bytes);
  }

  const parent = dirname(targetPath);
  await Deno.mkdir(parent, { recursive: true });
  const staging = await Deno.makeTempDir({ dir: parent, prefix: `.${basename(targetPath)}.restore-` });
  try {
    await Deno.chmod(staging, 0o700);
    for (const [path, bytes] of files) {
      const full = `${staging}/${path}`;
      await Deno.mkdir(dirname(full), { recursive: true, mode: 0o700 });
      await using file = await Deno.open(full, { createNew: true, write: true, mode: 0o600 });
      await writeAll(file, bytes);
      await file.sync();
    }
    for (const [path, bytes] of files) {
      if (memberDigest(await Deno.readFile(`${staging}/${path}`)) !== memberDigest(bytes)) {
        throw new Error(`${path} did not read back as written in ${staging}`);
      }
    }
    await syncDir(staging);
    if (targetEmpty === true) await Deno.remove(targetPath);
    await Deno.rename(staging, targetPath);
    await syncDir(parent);
  } catch (err) {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    throw err;
  }
  return manifest;
}

/** `true`: an empty directory; `undefined`: missing; `false`: anything else. */
async function emptyDirOrMissing(path: string): Promise<boolean | undefined> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  if (!info.isDirectory) return false;
  for await (const _ of Deno.readDir(path)) return false;
  return true;
}
