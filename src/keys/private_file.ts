/**
 * Durable owner-only files: every secret the host keeps on disk (and the
 * audit log) is written through these, so a crash leaves either the old
 * content or the new, never a torn file, and no write is lost to a
 * directory entry that was never flushed.
 *
 * Each write stages its bytes in `<path>.tmp`; one writer per path at a time.
 *
 * @module
 */
import { dirname } from "node:path";

/** Owner read/write only. */
export const PRIVATE_MODE = 0o600;

/** Flushes a directory so entries created, renamed or removed in it survive a crash. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await Deno.open(dir, { read: true });
  try {
    await handle.sync();
  } finally {
    handle.close();
  }
}

/**
 * Says what is wrong with a file that should be private, as a clause to
 * follow its name: not a regular file, or any group/other permission bit
 * set. Undefined when it is fine.
 */
export function privateFileProblem(path: string, info: Deno.FileInfo): string | undefined {
  if (!info.isFile) return "is not a regular file";
  if (info.mode === null) return "has no permission bits to check on this platform";
  const mode = info.mode & 0o777;
  if (mode & 0o077) {
    return `is accessible to group or other (mode 0${mode.toString(8)}); run: chmod 600 ${path}`;
  }
  return undefined;
}

/** Creates `path` atomically and exclusively (mode 0600); fails with `Deno.errors.AlreadyExists` if present. */
export async function createPrivateFile(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = await stage(path, bytes);
  try {
    // link(2) never replaces an existing entry, so this is the exclusive step.
    await Deno.link(tmp, path);
  } finally {
    await Deno.remove(tmp);
  }
  await syncDir(dirname(path));
}

/** Creates or atomically replaces `path` (mode 0600). */
export async function replacePrivateFile(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = await stage(path, bytes);
  try {
    await Deno.rename(tmp, path);
  } catch (err) {
    await removeIfPresent(tmp);
    throw err;
  }
  await syncDir(dirname(path));
}

/** Removes `path`; absent is fine. */
export async function removeIfPresent(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

/** Writes all of `bytes` at the current position. */
export async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.length;) done += await file.write(bytes.subarray(done));
}

/** Writes `bytes` to a fresh, flushed `<path>.tmp` (a stale one from a crash is discarded first). */
async function stage(path: string, bytes: Uint8Array): Promise<string> {
  const tmp = `${path}.tmp`;
  await removeIfPresent(tmp);
  const file = await Deno.open(tmp, { createNew: true, write: true, mode: PRIVATE_MODE });
  try {
    await writeAll(file, bytes);
    await file.sync();
  } catch (err) {
    file.close();
    await removeIfPresent(tmp);
    throw err;
  }
  file.close();
  return tmp;
}
