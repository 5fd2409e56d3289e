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

/** The pid holding the directory's lock, if that process is alive. */
export function lockHolder(stateDir: string): number | undefined {
  let pid: number;
  try {
    pid = Number(Deno.readTextFileSync(`${stateDir}/${LOCK_FILE}`).trim());
  } catch {
    return undefined;
  }
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === Deno.pid) return undefined;
  try {
    Deno.statSync(`/proc/${pid}`);
    return pid;
  } catch {
    return undefined;
  }
}

/** Directories this process holds; the pid file cannot tell our own earlier open from a stale lock. */
const heldHere = new Set<string>();

/**
 * Creates the directory (0700) and takes its lock for this process. A lock
 * left by a dead process (or by an earlier run that had our pid, as pid 1 in
 * a container does) is taken over. Returns the release function.
 */
export function lockStateDir(stateDir: string): () => void {
  Deno.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  Deno.chmodSync(stateDir, 0o700);
  const real = Deno.realPathSync(stateDir);
  if (heldHere.has(real)) throw new StateDirBusyError(stateDir, Deno.pid);
  const holder = lockHolder(stateDir);
  if (holder !== undefined) throw new StateDirBusyError(stateDir, holder);
  heldHere.add(real);
  const path = `${stateDir}/${LOCK_FILE}`;
  const tmp = `${path}.${Deno.pid}.tmp`;
  Deno.writeTextFileSync(tmp, `${Deno.pid}\n`, { mode: 0o600 });
  Deno.renameSync(tmp, path);
  return () => {
    heldHere.delete(real);
    try {
      if (Deno.readTextFileSync(path).trim() === String(Deno.pid)) Deno.removeSync(path);
    } catch { /* already gone */ }
  };
}
