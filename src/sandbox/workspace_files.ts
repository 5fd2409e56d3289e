/**
 * Reading a session's workspace from the host, for the operator (`ironclaw
 * files`). The workspace is written by the agent, which may be hostile and
 * may change it while we read: it can plant symlinks, FIFOs, deep trees and
 * huge files, and swap a directory for a link between two of our calls. So
 * nothing is reached by a path that the agent could redirect: every
 * directory and file is opened with `O_NOFOLLOW` (and `O_NONBLOCK`, so a FIFO
 * cannot hang us), then confirmed to lie under the workspace by what the
 * kernel says the open descriptor is (`/proc/self/fd/N`), and read through
 * that descriptor. A symlink is listed as one, never followed. Listing stops
 * at a number of entries and a depth; a file is read only up to a cap.
 *
 * @module
 */
import fs from "node:fs";

/** One entry of a workspace listing. */
export interface WorkspaceEntry {
  /** Relative to the workspace, `/`-separated. */
  path: string;
  type: "file" | "dir" | "symlink" | "other";
  /** Bytes (a file's size; 0 for the others). */
  size: number;
  /** Last modified, ISO 8601. */
  modified: string;
}

/** A workspace listing. */
export interface WorkspaceListing {
  entries: WorkspaceEntry[];
  /** Set when the listing stopped at its entry cap or depth. */
  truncated: boolean;
}

/** Why a workspace read is refused: its message is for the operator. */
export class WorkspaceFileError extends Error {
  override name = "WorkspaceFileError";
  constructor(message: string, readonly kind: "not-found" | "refused" | "too-large") {
    super(message);
  }
}

/** Most entries a listing returns. */
export const MAX_LISTED_ENTRIES = 5000;
/** Deepest directory a listing descends into. */
export const MAX_LISTED_DEPTH = 16;
/** Largest file `get` reads by default. */
export const DEFAULT_MAX_READ_BYTES = 20 * 1024 * 1024;

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK, O_DIRECTORY } = fs.constants;

/** Opens `path` without following a final symlink; the descriptor's real path must lie under `root`. */
function openConfined(root: string, path: string, directory: boolean): number {
  let fd: number;
  try {
    fd = fs.openSync(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | (directory ? O_DIRECTORY : 0));
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw new WorkspaceFileError("no such file", "not-found");
    if (code === "ELOOP") throw new WorkspaceFileError("it is a symbolic link (never followed)", "refused");
    throw err;
  }
  const real = Deno.readLinkSync(`/proc/self/fd/${fd}`);
  if (real !== root && !real.startsWith(`${root}/`)) {
    fs.closeSync(fd);
    throw new WorkspaceFileError("it leads outside the workspace", "refused");
  }
  return fd;
}

/** `rel` as path segments, refusing absolute paths, `..` and empty names. */
function segments(rel: string): string[] {
  const parts = rel.split("/").filter((p) => p !== "" && p !== ".");
  if (rel.startsWith("/") || parts.some((p) => p === "..") || parts.some((p) => p.includes("\0"))) {
    throw new WorkspaceFileError("a path inside the workspace, without '..' or a leading '/'", "refused");
  }
  return parts;
}

/** Every entry under `workspace` (breadth first, by name), up to the caps; a missing workspace is empty. */
export function listWorkspace(workspace: string): WorkspaceListing {
  let root: string;
  try {
    root = Deno.realPathSync(workspace);
  } catch {
    return { entries: [], truncated: false };
  }
  const entries: WorkspaceEntry[] = [];
  let truncated = false;
  const queue: { rel: string; depth: number }[] = [{ rel: "", depth: 0 }];
  while (queue.length && !truncated) {
    const { rel, depth } = queue.shift()!;
    let fd: number;
    try {
      fd = openConfined(root, rel ? `${root}/${rel}` : root, true);
    } catch (err) {
      if (err instanceof WorkspaceFileError) continue; // swapped or removed since it was listed
      throw err;
    }
    try {
      const names = [...Deno.readDirSync(`/proc/self/fd/${fd}`)].sort((a, b) => a.name < b.name ? -1 : 1);
      for (const item of names) {
        if (entries.length >= MAX_LISTED_ENTRIES) {
          truncated = true;
          break;
        }
        const path = rel ? `${rel}/${item.name}` : item.name;
        let info: Deno.FileInfo;
        try {
          info = Deno.lstatSync(`/proc/self/fd/${fd}/${item.name}`);
        } catch {
          continue;
        }
        const type = info.isSymlink ? "symlink" : info.isFile ? "file" : info.isDirectory ? "dir" : "other";
        entries.push({
          path,
          type,
          size: type === "file" ? info.size : 0,
          modified: (info.mtime ?? new Date(0)).toISOString(),
        });
        if (type === "dir") {
          if (depth + 1 < MAX_LISTED_DEPTH) queue.push({ rel: path, depth: depth + 1 });
          else truncated = true;
        }
      }
    } finally {
      fs.closeSync(fd);
    }
  }
  return { entries, truncated };
}

/**
 * The bytes of regular file `rel` under `workspace`, at most `maxBytes`
 * (default {@link DEFAULT_MAX_READ_BYTES}); a {@link WorkspaceFileError}
 * for a missing file, a symlink anywhere on the way out of the workspace, a
 * directory, FIFO or device, or a file over the cap.
 */
export function readWorkspaceFile(
  workspace: string,
  rel: string,
  options: { maxBytes?: number } = {},
): Uint8Array<ArrayBuffer> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_READ_BYTES;
  const parts = segments(rel);
  if (parts.length === 0) throw new WorkspaceFileError("name a file in the workspace", "refused");
  let root: string;
  try {
    root = Deno.realPathSync(workspace);
  } catch {
    throw new WorkspaceFileError("no such file (the workspace is empty)", "not-found");
  }
  const fd = openConfined(root, `${root}/${parts.join("/")}`, false);
  try {
    const info = fs.fstatSync(fd);
    if (!info.isFile()) throw new WorkspaceFileError("it is not a regular file", "refused");
    if (info.size > maxBytes) {
      throw new WorkspaceFileError(`it is ${info.size} bytes, over the cap of ${maxBytes}`, "too-large");
    }
    // Read to the cap plus one: the agent may grow the file while we read.
    const buffer = new Uint8Array(Math.min(info.size, maxBytes) + 1);
    let length = 0;
    while (length < buffer.length) {
      const n = fs.readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
    }
    if (length > buffer.length - 1) {
      throw new WorkspaceFileError(
        "it grew while being read (the agent is writing it); try again",
        "refused",
      );
    }
    return buffer.subarray(0, length);
  } finally {
    fs.closeSync(fd);
  }
}
