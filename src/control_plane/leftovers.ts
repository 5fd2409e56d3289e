/**
 * What a control plane leaves on the host while it runs, and removes when it
 * stops: mounts under its state directory (the agent groups' loop-mounted
 * volumes, the sandboxes' scratch tmpfs) and the session-key copies of its
 * sandboxes, which live in a key root of its own under `/dev/shm`. A clean
 * close removes them; a run that ended without one (SIGKILL, a crash, a
 * power cut for the mounts' part) leaves them for the next start, which
 * removes them before anything else, under the state directory's lock, so
 * they can only be that directory's own.
 *
 * @module
 */
import {
  defaultKeyRoot,
  filesystemType,
  mountPointsUnder,
  releaseVolume,
  removeToolServerLeftovers,
} from "../../isolator/mod.ts";
import { logger } from "../log/mod.ts";

/** Where the control plane of a state directory has its sandboxes put session-key copies. */
export interface PlaneKeyRoots {
  /** runsc's, bwrap's and the node agent's: a directory of its own under the host's (`/dev/shm/ironclaw-keys-<uid>`). */
  sandboxes: string;
  /**
   * The process backend's (it may read nothing under `/dev`): under the
   * user's runtime directory when that is tmpfs, else in the state directory.
   */
  process: string;
}

/**
 * The key roots of the control plane of `stateDir`, named by a hash of the
 * state directory's path, so removing them touches no other installation's keys.
 */
export async function planeKeyRoots(stateDir: string): Promise<PlaneKeyRoots> {
  const path = new TextEncoder().encode(Deno.realPathSync(stateDir));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", path));
  const name = Array.from(digest.slice(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
  const runtime = Deno.env.get("XDG_RUNTIME_DIR");
  return {
    sandboxes: `${defaultKeyRoot()}/${name}`,
    process: runtime && filesystemType(runtime) === "tmpfs"
      ? `${runtime}/ironclaw-keys/${name}`
      : `${stateDir}/isolator/keys`,
  };
}

/** What {@link removeLeftovers} removed. */
export interface Leftovers {
  /** The mount points unmounted. */
  mounts: string[];
  /** How many key copies were removed. */
  keyCopies: number;
}

/**
 * Unmounts everything mounted under `stateDir` (deepest first; a busy mount
 * is detached lazily) and removes both key roots with every key copy in
 * them. Only for the holder of the state directory's lock, with no sandbox
 * of its own running.
 */
export async function removeLeftovers(stateDir: string, keyRoots: PlaneKeyRoots): Promise<Leftovers> {
  const mounts = mountPointsUnder(Deno.realPathSync(stateDir));
  for (const mountPoint of mounts) await releaseVolume(mountPoint);
  let keyCopies = 0;
  for (const root of [keyRoots.sandboxes, keyRoots.process]) {
    try {
      keyCopies += [...Deno.readDirSync(root)].length;
      Deno.removeSync(root, { recursive: true });
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  return { mounts, keyCopies };
}

/** {@link removeLeftovers} at start-up: what it found is logged (it means the last run did not close). */
export async function removeLeftoversOfLastRun(stateDir: string, keyRoots: PlaneKeyRoots): Promise<void> {
  const left = await removeLeftovers(stateDir, keyRoots);
  if (left.mounts.length || left.keyCopies) {
    logger("control-plane").warn(
      "the last run did not shut down cleanly: unmounted {mounts} mount(s) and removed {keys} session-key copies it left",
      { mounts: left.mounts.length, keys: left.keyCopies },
    );
  }
  const servers = await removeToolServerLeftovers({ stateDir: mcpSandboxDir(stateDir) });
  if (servers > 0) {
    logger("control-plane").warn("removed {servers} MCP server sandbox(es) the last run left running", {
      servers,
    });
  }
}

/** Where the stdio MCP servers' sandboxes keep their bundles, runtime state and logs. */
export function mcpSandboxDir(stateDir: string): string {
  return `${stateDir}/isolator/mcp`;
}
