/**
 * A session's outbound queue on bounded storage. The agent writes its
 * outbound queue (and the journal beside it) through a read-write mount, so
 * that directory must not sit on the host's own disk without a limit: it
 * lives on the agent group's workspace volume (`src/sandbox/session_dirs.ts`,
 * `outboxDir`), counted in the group's quota, and `sessions/<id>/out`, where
 * the contract's paths, becomes a symlink to it. The host opens queue files
 * without following symlinks (an agent must not plant one), so it opens the
 * link's target, which it made itself ({@link outboundHomeOf}).
 *
 * The move of an existing directory (a session from before this layout) is
 * crash-safe: every file is copied, synced and renamed into the new home
 * before the symlink replaces the old directory with one rename, and a run
 * interrupted between the renames is finished by the next.
 *
 * @module
 */

/** The name the symlink is made under before it replaces the directory. */
const LINK_SUFFIX = ".link";
/** The name the old directory has between the two renames. */
const MOVED_SUFFIX = ".moved";

function lstat(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.lstatSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

function removeIfPresent(path: string): void {
  try {
    Deno.removeSync(path, { recursive: true });
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

function syncDir(path: string): void {
  const dir = Deno.openSync(path, { read: true });
  try {
    dir.syncSync();
  } finally {
    dir.close();
  }
}

/** Copies every file of `from` into `to`, each synced and renamed into place, with its owner and mode. */
function copyFiles(from: string, to: string): void {
  for (const entry of Deno.readDirSync(from)) {
    if (!entry.isFile) continue;
    const source = `${from}/${entry.name}`;
    const staging = `${to}/${entry.name}.${crypto.randomUUID()}.tmp`;
    const info = Deno.statSync(source);
    Deno.copyFileSync(source, staging);
    const file = Deno.openSync(staging, { read: true, write: true });
    try {
      file.syncSync();
    } finally {
      file.close();
    }
    Deno.chmodSync(staging, info.mode! & 0o777);
    if (info.uid !== null && info.gid !== null) Deno.chownSync(staging, info.uid, info.gid);
    Deno.renameSync(staging, `${to}/${entry.name}`);
  }
  syncDir(to);
}

/**
 * Makes `outboundDir` a symlink to `home` (created 0700, its parent 0711 so
 * that a sandbox's uid can traverse to its own), moving the files of an
 * existing directory there first. Idempotent; finishes a move a crash
 * interrupted.
 *
 * @example
 * ```ts
 * homeOutbound("/state/sessions/s1/out", "/state/sandbox/workspaces/g1/.outbox/s1");
 * ```
 */
export function homeOutbound(outboundDir: string, home: string): void {
  const link = `${outboundDir}${LINK_SUFFIX}`;
  const moved = `${outboundDir}${MOVED_SUFFIX}`;
  let current = lstat(outboundDir);
  if (current === undefined && lstat(link)?.isSymlink) {
    // A crash between the two renames: the files were already in their new home.
    Deno.renameSync(link, outboundDir);
    current = lstat(outboundDir);
  }
  if (current?.isSymlink && Deno.readLinkSync(outboundDir) === home) {
    removeIfPresent(moved);
    return;
  }
  const parent = home.slice(0, home.lastIndexOf("/"));
  Deno.mkdirSync(parent, { recursive: true, mode: 0o711 });
  Deno.chmodSync(parent, 0o711);
  Deno.mkdirSync(home, { recursive: true, mode: 0o700 });
  if (current !== undefined) {
    // A real directory, or a symlink to an earlier home: its files come along.
    const from = current.isSymlink ? Deno.realPathSync(outboundDir) : outboundDir;
    copyFiles(from, home);
    const info = Deno.statSync(from);
    if (info.uid !== null && info.gid !== null) Deno.chownSync(home, info.uid, info.gid);
  }
  const sessionDir = outboundDir.slice(0, outboundDir.lastIndexOf("/"));
  Deno.mkdirSync(sessionDir, { recursive: true, mode: 0o700 });
  removeIfPresent(link);
  Deno.symlinkSync(home, link);
  if (current !== undefined) Deno.renameSync(outboundDir, moved);
  Deno.renameSync(link, outboundDir);
  syncDir(sessionDir);
  removeIfPresent(moved);
}

/** The directory `outboundDir` links to when it has been given a home, else undefined. */
export function outboundHomeOf(outboundDir: string): string | undefined {
  return lstat(outboundDir)?.isSymlink ? Deno.readLinkSync(outboundDir) : undefined;
}
