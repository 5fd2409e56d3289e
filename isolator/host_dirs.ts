/**
 * Host-side directories: the isolator's private state, and the session's
 * directories the agent writes through its mounts.
 *
 * @module
 */
import { LaunchError } from "./errors.ts";
import { SANDBOX_GID, SANDBOX_UID } from "./plan.ts";
import { type ResolvedSpec, resolveSpec } from "./spec.ts";
import type { AgentRunner, LaunchSpec } from "./types.ts";

/** Makes `path` (and parents) and closes it to everyone but its owner. */
export function ensurePrivateDir(path: string): string {
  Deno.mkdirSync(path, { recursive: true, mode: 0o700 });
  Deno.chmodSync(path, 0o700);
  return path;
}

/** Whether `path` exists (following symlinks). */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Removes a path if present. */
export function removeIfPresent(path: string): void {
  try {
    Deno.removeSync(path, { recursive: true });
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

/**
 * Readies the directories a sandboxed agent (uid 65532) uses: the durable
 * workspace and memory are handed to it; the queue directories must already
 * be its own (`provisionSession` with `sandboxUid`), or the agent could not
 * read inbound nor write outbound and its journal.
 */
export function prepareSandboxDirs(spec: ResolvedSpec): void {
  for (const dir of [spec.workspaceDir, spec.memoryDir]) Deno.chownSync(dir, SANDBOX_UID, SANDBOX_GID);
  for (const dir of [spec.inboundDir, spec.outboundDir]) {
    const owner = Deno.statSync(dir).uid;
    if (owner !== SANDBOX_UID) {
      throw new LaunchError(
        spec.sessionId,
        `${dir} is owned by uid ${owner}, not the sandbox's ${SANDBOX_UID} (provision the session with sandboxUid)`,
      );
    }
  }
}

/** Why a sandbox backend cannot run as this user, or undefined when it can. */
export function rootRequired(): string | undefined {
  return Deno.uid() === 0 ? undefined : `needs root to build sandboxes (running as uid ${Deno.uid()})`;
}

/** A sandboxing backend's launch preamble: the spec validated, root confirmed, the agent's directories readied. */
export function resolveSandboxSpec(kind: string, spec: LaunchSpec, agent: AgentRunner): ResolvedSpec {
  const s = resolveSpec(spec, agent);
  const notRoot = rootRequired();
  if (notRoot) throw new LaunchError(s.sessionId, `${kind} ${notRoot}`);
  prepareSandboxDirs(s);
  return s;
}
