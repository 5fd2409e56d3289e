/**
 * The state directory: where it is by default, and the lock that keeps a
 * second control plane (or an offline key rotation) off a directory in use.
 *
 * @module
 */

/** `--state-dir` default: `$IRONCLAW_STATE_DIR`, else `$XDG_STATE_HOME/ironclaw`, else `~/.local/state/ironclaw`. */
export function defaultStateDir(): string {
  const explicit = Deno.env.get("IRONCLAW_STATE_DIR");
  if (explicit) return explicit;
  const xdg = Deno.env.get("XDG_STATE_HOME");
  if (xdg) return `${xdg}/ironclaw`;
  return `${Deno.env.get("HOME") ?? "/var/lib"}/.local/state/ironclaw`;
}

/** The lock file's name inside the state directory. */
export const LOCK_FILE = "control-plane.pid";

/** The state directory is in use by a live process. */
export class StateDirBusyError extends Error {
  override name = "StateDirBusyError";
  constructor(readonly stateDir: string, readonly pid: number) {
    super(`${stateDir} is in use by another IronClaw control plane (pid ${pid}); stop it first`);
  }
}

/** The pid written in the lock file, if it holds one. */
function recordedPid(path: string): number | undefined {
  try {
    const pid = Number(Deno.readTextFileSync(path).trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The pid of the live process holding the directory's lock, if any. The lock
 * is an advisory lock on the lock file, which the kernel drops when its
 * holder exits; the file's content only names the holder. (Probing
 * `/proc/<pid>` instead would need `--allow-all` under Deno, so the
 * host's permission flags would quietly make every lock look stale.)
 */
export function lockHolder(stateDir: string): number | undefined {
  const path = `${stateDir}/${LOCK_FILE}`;
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch {
    return undefined;
  }
  try {
    if (file.tryLockSync(true)) {
      file.unlockSync();
      return undefined;
    }
    return recordedPid(path) ?? 0;
  } finally {
    file.close();
  }
}

/** Directories this process holds. */
const heldHere = new Set<string>();

/**
 * Creates the directory (0700) and takes its lock for this process: an
 * exclusive advisory lock on `control-plane.pid`, held until release or exit,
 * so a lock left by a dead process is simply free. Returns the release
 * function. The file is left in place (emptied) on release: unlinking a lock
 * file lets two later processes lock two different files.
 */
export function lockStateDir(stateDir: string): () => void {
  Deno.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  Deno.chmodSync(stateDir, 0o700);
  const real = Deno.realPathSync(stateDir);
  if (heldHere.has(real)) throw new StateDirBusyError(stateDir, Deno.pid);
  const path = `${stateDir}/${LOCK_FILE}`;
  const file = Deno.openSync(path, { read: true, write: true, create: true, mode: 0o600 });
  try {
    if (!file.tryLockSync(true)) throw new StateDirBusyError(stateDir, recordedPid(path) ?? 0);
    file.truncateSync(0);
    const bytes = new TextEncoder().encode(`${Deno.pid}\n`);
    for (let n = 0; n < bytes.length;) n += file.writeSync(bytes.subarray(n));
  } catch (err) {
    file.close();
    throw err;
  }
  heldHere.add(real);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    heldHere.delete(real);
    try {
      file.truncateSync(0);
    } catch { /* the lock still goes with the handle */ }
    file.close();
  };
}
