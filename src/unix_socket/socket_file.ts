/**
 * Lifecycle of a host-owned unix socket file that a sandbox connects to.
 *
 * @module
 */
import { dirname } from "node:path";

/**
 * Default mode of a listening socket file: anyone who can reach the file may
 * connect. The socket's directory is 0700 on the host, so only the sandbox
 * (uid 65532, which sees just this file through a bind mount) and the host
 * user get there.
 */
export const DEFAULT_SOCKET_MODE = 0o666;

/**
 * Readies `path` for a listener: creates its parent directory 0700 when
 * missing and removes a stale socket. Refuses to delete anything that is not
 * a socket, so a misconfigured path cannot destroy a file.
 */
export async function prepareSocketPath(path: string): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true, mode: 0o700 });
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  if (!info.isSocket) throw new Error(`refusing to replace ${path}: it exists and is not a socket`);
  await Deno.remove(path);
}

/** Removes a socket file; already gone is fine. */
export async function removeSocket(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}
