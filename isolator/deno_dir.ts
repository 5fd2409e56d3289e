/**
 * The private Deno directory of one launch of a bundle: a copy of the
 * program's prepared module-info cache on a tmpfs of its own, bound
 * read-write at the sandbox's `DENO_DIR`. It is the one writable path of a
 * sandbox that is neither a queue nor a volume, so it is bounded like them:
 * whatever the agent writes there stays within {@link DENO_DIR_BYTES} of
 * memory and never reaches the host's disk.
 *
 * @module
 */
import { type BindMount, MODULE_INFO_CACHE, programCacheDir, SANDBOX_ENV } from "./plan.ts";
import { removeIfPresent } from "./host_dirs.ts";
import { mountTmpfs, releaseVolume } from "./volume.ts";

/**
 * 8 MiB: the staged directory's ceiling. The cache is ~20 KiB (one entry
 * for the bundle); Deno treats a failed cache write as a miss.
 */
export const DENO_DIR_BYTES = 8 * 1024 * 1024;

/**
 * Mounts a fresh tmpfs on `dest`, copies the prepared module-info cache of
 * `program` into it (owned by `owner` when given) and gives the writable
 * bind of it at the sandbox's `DENO_DIR`; `undefined` (nothing mounted)
 * when the program has none.
 */
export async function stageDenoDir(
  program: string,
  dest: string,
  owner?: { uid: number; gid: number },
): Promise<BindMount | undefined> {
  const source = `${programCacheDir(program)}/${MODULE_INFO_CACHE}`;
  try {
    if (!Deno.statSync(source).isFile) return undefined;
  } catch {
    return undefined;
  }
  await releaseDenoDir(dest);
  await mountTmpfs(dest, { sizeBytes: DENO_DIR_BYTES });
  Deno.copyFileSync(source, `${dest}/${MODULE_INFO_CACHE}`);
  Deno.chmodSync(`${dest}/${MODULE_INFO_CACHE}`, 0o600);
  if (owner) {
    Deno.chownSync(dest, owner.uid, owner.gid);
    Deno.chownSync(`${dest}/${MODULE_INFO_CACHE}`, owner.uid, owner.gid);
  }
  return { source: dest, destination: SANDBOX_ENV.DENO_DIR, writable: true, exec: false, isFile: false };
}

/** Unmounts and removes a staged directory (no-op when absent), a crashed run's included. */
export async function releaseDenoDir(dest: string): Promise<void> {
  await releaseVolume(dest);
  removeIfPresent(dest);
}
