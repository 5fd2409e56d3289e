/**
 * What files tell the host: hashes and fingerprints to compare before and
 * after, access times armed so that a read shows, sizes and existence.
 *
 * @module
 */
/** SHA-256 of bytes, as hex. */
export async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** SHA-256 of a file, or undefined when it cannot be read. */
export async function fileHash(path: string): Promise<string | undefined> {
  try {
    return await sha256Hex(await Deno.readFile(path));
  } catch {
    return undefined;
  }
}

/** A file's size, mode and modification time, and its hash, to compare before and after. */
export interface Fingerprint {
  hash?: string;
  size?: number;
  mode?: number;
  mtime?: number;
}

/** Takes `path`'s {@link Fingerprint}. */
export async function fingerprint(path: string): Promise<Fingerprint> {
  try {
    const info = await Deno.stat(path);
    return {
      hash: await fileHash(path),
      size: info.size,
      mode: info.mode ?? undefined,
      mtime: info.mtime?.getTime(),
    };
  } catch {
    return {};
  }
}

/** Whether two fingerprints differ. */
export function changed(a: Fingerprint, b: Fingerprint): boolean {
  return a.hash !== b.hash || a.size !== b.size || a.mode !== b.mode || a.mtime !== b.mtime;
}

/**
 * Sets `path`'s access time far into the past, so that under `relatime` the
 * next read of it moves the access time: the host's evidence of a read.
 */
export function armAccessTime(path: string): void {
  const info = Deno.statSync(path);
  Deno.utimeSync(path, new Date(946684800000), info.mtime ?? new Date());
}

/** Whether `path` was read since {@link armAccessTime}. */
export function wasRead(path: string): boolean {
  try {
    return (Deno.statSync(path).atime?.getTime() ?? 0) > 946684800000;
  } catch {
    return false;
  }
}

/** Bytes of a file, 0 when absent. */
export function sizeOf(path: string): number {
  try {
    return Deno.statSync(path).size;
  } catch {
    return 0;
  }
}

/** Whether a path exists (without following a final symlink). */
export function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
