/**
 * Session-key hand-off. The sandbox reads its key from a file, never from the
 * environment or an image; the file is a per-session copy on tmpfs (never on
 * disk), readable only by the agent's uid, and removed when the sandbox ends.
 *
 * @module
 */
import { parseSessionKeyFile, sessionKeyHex } from "../contract/cipher.ts";
import type { KeySource } from "./types.ts";

/** The default directory for key copies: `/dev/shm`, a tmpfs on Linux. */
export function defaultKeyRoot(): string {
  return `/dev/shm/ironclaw-keys-${Deno.uid()}`;
}

/** The key root is unusable: not on tmpfs, or not private to this user. */
export class KeyRootError extends Error {
  override name = "KeyRootError";
  constructor(readonly path: string, detail: string) {
    super(`key directory ${path} ${detail}`);
  }
}

function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal) => String.fromCharCode(parseInt(octal, 8)));
}

/** The filesystem type of the mount holding `path` (by /proc/mounts; the last of stacked mounts wins). */
export function filesystemType(path: string): string | undefined {
  const real = Deno.realPathSync(path);
  let best: { point: string; type: string } | undefined;
  for (const line of Deno.readTextFileSync("/proc/mounts").split("\n")) {
    const [, rawPoint, type] = line.split(" ");
    if (!rawPoint) continue;
    const point = unescapeMountField(rawPoint);
    const inside = point === "/" || real === point || real.startsWith(`${point}/`);
    if (inside && (!best || point.length >= best.point.length)) best = { point, type };
  }
  return best?.type;
}

/**
 * Makes `root` if missing, then insists it is a real directory owned by us
 * and closed to everyone else (`/dev/shm` is world-writable, so another user
 * could have planted it first), and unless told otherwise, on tmpfs.
 */
export function ensureKeyRoot(root: string, requireTmpfs = true): void {
  Deno.mkdirSync(root, { recursive: true, mode: 0o700 });
  const info = Deno.lstatSync(root);
  if (!info.isDirectory) throw new KeyRootError(root, "is not a directory");
  if (info.uid !== Deno.uid()) throw new KeyRootError(root, `is owned by uid ${info.uid}, not ${Deno.uid()}`);
  if ((info.mode! & 0o077) !== 0) {
    throw new KeyRootError(root, `has mode ${(info.mode! & 0o777).toString(8)}, want 700`);
  }
  const type = filesystemType(root);
  if (requireTmpfs && type !== "tmpfs" && type !== "ramfs") {
    throw new KeyRootError(root, `is on ${type ?? "an unknown filesystem"}, not tmpfs`);
  }
}

/** Where a session's key copy lives under `root`. */
export function keyCopyPath(root: string, sessionId: string): string {
  return `${root}/${sessionId}/session.key`;
}

/** How to write a key copy. */
export interface HandOffOptions {
  /** Hand the file to this uid/gid (the sandbox's). */
  owner?: { uid: number; gid: number };
  /** Refuse a key root that is not tmpfs (default true). */
  requireTmpfs?: boolean;
}

/**
 * Writes the session's key copy (64 hex characters, mode 0400; empty for a
 * spare's `none`) and returns its path. A key file source is parsed first, so a malformed key fails here.
 */
export function handOffKey(
  root: string,
  sessionId: string,
  source: KeySource,
  opts: HandOffOptions = {},
): string {
  ensureKeyRoot(root, opts.requireTmpfs);
  const key = "none" in source
    ? undefined
    : "bytes" in source
    ? source.bytes
    : parseSessionKeyFile(Deno.readFileSync(source.file));
  const dir = `${root}/${sessionId}`;
  removeKey(root, sessionId);
  Deno.mkdirSync(dir, { mode: 0o700 });
  const path = keyCopyPath(root, sessionId);
  // A spare's file stays empty: the bind is the same for every launch, and no key is there to read.
  Deno.writeTextFileSync(path, key ? sessionKeyHex(key) : "", { mode: 0o400, createNew: true });
  if (opts.owner) Deno.chownSync(path, opts.owner.uid, opts.owner.gid);
  return path;
}

/** Removes a session's key copy; a missing one is fine. */
export function removeKey(root: string, sessionId: string): void {
  try {
    Deno.removeSync(`${root}/${sessionId}`, { recursive: true });
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}
