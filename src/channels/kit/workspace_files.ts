/**
 * Inbound files into sessions' workspaces, as the agent will see them.
 *
 * - The group's workspace volume is mounted first, through the sandbox
 *   manager's own instance (`ensureGroupVolumes`), so a file that arrives
 *   before the session's first launch lands on the volume, in its quota,
 *   and not in the directory the mount would later hide.
 * - The file is written in a staging directory on that volume that no agent
 *   sees, given its mode (and owner) there, and then hard-linked into the
 *   top of the session's workspace. The workspace's content belongs to the
 *   agent, which could swap a subdirectory for a symlink to anywhere on the
 *   host between a check and a write; its top directory is host-made and out
 *   of the agent's reach to replace, and `link` neither follows a symlink at
 *   the new name nor replaces what is there. So nothing is written outside
 *   the workspace, nothing of the agent's is overwritten (a taken name gets
 *   a `-1`, `-2`, … suffix), and the agent never sees half a file.
 * - A full volume is an answer ("the workspace is full"), not a crash.
 *
 * @module
 */
import { logger } from "../../log/mod.ts";
import type { RoutedSession } from "../../router/mod.ts";
import {
  ensureGroupVolumes,
  ensureSessionDirs,
  sessionDirs,
  workspaceStagingDir,
} from "../../sandbox/mod.ts";
import { DEFAULT_MAX_FILE_BYTES, type InboundFiles, type PlacedFile, safeFileName } from "./files.ts";

/** Names tried for one file (the name, then `-1` … suffixed) before giving up. */
export const MAX_NAME_ATTEMPTS = 100;

/** What the writer is built from. */
export interface WorkspaceFilesOptions {
  /** The sandbox root (`<state-dir>/sandbox`), the one the sandbox manager was given. */
  root: string;
  /** The sandbox's uid when agents run as another user than the host (as the sandbox manager has it). */
  sandboxOwner?: { uid: number; gid: number };
  /** Where the agent sees its workspace, given its host directory (default: the host directory itself). */
  agentWorkspace?: (hostDir: string) => string | Promise<string>;
  /** Largest file fetched (default 20 MiB). */
  maxBytes?: number;
}

/** Places inbound files in sessions' workspaces. */
export class WorkspaceFiles implements InboundFiles {
  readonly maxBytes: number;
  #o: WorkspaceFilesOptions;
  #swept = new Map<string, Promise<void>>();
  #log = logger("channel", "files");

  constructor(options: WorkspaceFilesOptions) {
    this.#o = options;
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_FILE_BYTES;
  }

  async place(target: RoutedSession, name: string, bytes: Uint8Array): Promise<PlacedFile> {
    let workspace: string, staged: string;
    try {
      ({ workspace, staged } = await this.#stage(target, bytes));
    } catch (err) {
      if (isOutOfSpace(err)) {
        return { ok: false, error: "the agent's workspace is full (its disk quota is used up)" };
      }
      this.#warn("a file for session {sessionId} could not be staged: {error}", target, err);
      return { ok: false, error: "the agent's workspace is not available" };
    }
    try {
      // Asked first: a file is only linked into the workspace when its line can name it.
      const agentDir = this.#o.agentWorkspace ? await this.#o.agentWorkspace(workspace) : workspace;
      const relativePath = await linkUnique(staged, workspace, safeFileName(name));
      if (relativePath === undefined) {
        return { ok: false, error: `no free file name near ${safeFileName(name)} in the workspace` };
      }
      return { ok: true, path: `${agentDir}/${relativePath}`, relativePath, bytes: bytes.length };
    } catch (err) {
      this.#warn("a file for session {sessionId} could not be placed: {error}", target, err);
      return { ok: false, error: "the agent's workspace is not available" };
    } finally {
      await Deno.remove(staged).catch(() => {});
    }
  }

  async withdraw(target: RoutedSession, relativePath: string): Promise<void> {
    // Only names `place` makes: one plain component at the top of the workspace.
    if (relativePath !== safeFileName(relativePath)) return;
    const { workspaceDir } = sessionDirs(this.#o.root, target.sessionId, target.agentGroupId);
    try {
      await Deno.remove(`${workspaceDir}/${relativePath}`);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) {
        this.#warn("a file for session {sessionId} could not be taken back: {error}", target, err);
      }
    }
  }

  /** Mounts the group's volume, readies the session's workspace, and writes `bytes` in the staging directory. */
  async #stage(target: RoutedSession, bytes: Uint8Array): Promise<{ workspace: string; staged: string }> {
    const { root, sandboxOwner } = this.#o;
    // Through the sandbox manager's instance: one mount, whoever asks first (a launch, or this file).
    await ensureGroupVolumes(root, target.agentGroupId);
    const dirs = sessionDirs(root, target.sessionId, target.agentGroupId);
    // As a launch does: the session's directories, with the modes its sandbox needs.
    ensureSessionDirs(dirs, sandboxOwner);
    const staging = workspaceStagingDir(root, target.agentGroupId);
    await Deno.mkdir(staging, { recursive: true, mode: 0o700 });
    await Deno.chmod(staging, 0o700);
    await this.#sweepOnce(target.agentGroupId, staging);
    const staged = `${staging}/${crypto.randomUUID()}`;
    try {
      await Deno.writeFile(staged, bytes, { createNew: true, mode: 0o600 });
      // Here the path is the host's own: mode and owner are set on our file, not on anything the agent made.
      if (sandboxOwner) await Deno.chown(staged, sandboxOwner.uid, sandboxOwner.gid);
      await Deno.chmod(staged, 0o644);
    } catch (err) {
      await Deno.remove(staged).catch(() => {});
      throw err;
    }
    return { workspace: dirs.workspaceDir, staged };
  }

  /** Removes what a previous run left staged (it crashed between write and link); once per group and run. */
  #sweepOnce(agentGroupId: string, staging: string): Promise<void> {
    let sweep = this.#swept.get(agentGroupId);
    if (!sweep) {
      sweep = (async () => {
        for await (const entry of Deno.readDir(staging)) {
          await Deno.remove(`${staging}/${entry.name}`, { recursive: true }).catch(() => {});
        }
      })();
      this.#swept.set(agentGroupId, sweep);
      // A failed sweep is tried again by the next file.
      sweep.catch(() => this.#swept.delete(agentGroupId));
    }
    return sweep;
  }

  #warn(message: string, target: RoutedSession, err: unknown): void {
    this.#log.warn(message, {
      sessionId: target.sessionId,
      error: err instanceof Error ? err.message : String(err),
    });
  }
}

/**
 * Links `staged` into `dir` under `name`, or the first free `name-N` (the
 * suffix before the extension); returns the name used, or undefined when
 * none of {@link MAX_NAME_ATTEMPTS} was free.
 */
async function linkUnique(staged: string, dir: string, name: string): Promise<string | undefined> {
  const dot = name.lastIndexOf(".");
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ""];
  for (let i = 0; i < MAX_NAME_ATTEMPTS; i++) {
    const candidate = i === 0 ? name : `${stem}-${i}${ext}`;
    try {
      await Deno.link(staged, `${dir}/${candidate}`);
      return candidate;
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    }
  }
  return undefined;
}

/** A write refused for want of space (ENOSPC, or a quota's EDQUOT). */
function isOutOfSpace(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === "ENOSPC" || code === "EDQUOT" ||
    (err instanceof Error && /No space left on device|Disk quota exceeded/.test(err.message));
}
