/**
 * The development backend: a plain `deno run` with the contract's agent flags
 * over the session's host paths. Deno's permissions are the only wall, and
 * `--allow-ffi` to libsqlcipher reaches all of libc through the library's own
 * dependencies, so a compromised agent has this user's full access.
 *
 * It cannot run the compiled `ironclaw-agent`: `deno compile` baked that
 * agent's flags for the sandbox layout (`/run/ironclaw/…`, `/workspace`, …),
 * which only runsc and bwrap mount, and the session's host paths are
 * elsewhere. With an agent executable it fails its check and every launch.
 *
 * @module
 */
import { type BackendPaths, backendPaths, runCommand, spawnLogged, startSupervised } from "./child.ts";
import { LaunchError } from "./errors.ts";
import { ensurePrivateDir } from "./host_dirs.ts";
import { filesystemType, handOffKey, removeKey } from "./key.ts";
import { agentArgv, SANDBOX_ENV } from "./plan.ts";
import { resolveSpec } from "./spec.ts";
import type { CheckResult, Isolator, IsolatorOptions, LaunchSpec, SandboxHandle } from "./types.ts";

/**
 * Deno refuses agents any read under /dev, so `/dev/shm` cannot hold the key
 * here: the user's runtime directory does when it is tmpfs, else the state
 * directory, on disk.
 */
function processKeyRoot(stateDir: string): string {
  const runtime = Deno.env.get("XDG_RUNTIME_DIR");
  if (runtime && filesystemType(runtime) === "tmpfs") return `${runtime}/ironclaw-keys`;
  return `${stateDir}/keys`;
}

/** Why the process backend cannot run the compiled agent at `path`. */
function executableRefused(path: string): string {
  return `the process backend cannot run the compiled agent ${path}: its permission flags are baked in for ` +
    "the sandbox layout (/run/ironclaw/…, /workspace, /memory), which only runsc and bwrap mount";
}

/**
 * Why a group with approved mounts cannot run here: this backend binds
 * nothing, so a read-only mount would be read-only only by the agent's word.
 */
function mountsRefused(names: string[]): string {
  return `the process backend cannot bind mounts (${names.join(", ")}): it has no mount namespace, so ` +
    "read-only could not be enforced; use runsc or bwrap, or remove the mounts";
}

/** Agents as ordinary processes of the host user; for development only. */
export class ProcessIsolator implements Isolator {
  readonly kind = "process";
  readonly strength = "none";
  readonly #paths: BackendPaths;

  constructor(opts: IsolatorOptions) {
    this.#paths = backendPaths(opts, () => processKeyRoot(opts.stateDir));
  }

  /** Works wherever Deno runs (but not with the compiled agent), and says how little that protects. */
  async check(): Promise<CheckResult> {
    const { agent } = this.#paths;
    if (agent.kind === "executable") return { ok: false, detail: executableRefused(agent.path) };
    const version = await runCommand(agent.denoPath, ["--version"]);
    if (!version.success) {
      return { ok: false, detail: `${agent.denoPath} does not run: ${version.stderr}` };
    }
    return {
      ok: true,
      detail:
        `NO SANDBOX (weaker than runsc and bwrap; development only): the agent runs as uid ${Deno.uid()} ` +
        "on the host with its network, filesystem and kernel; Deno's permission flags are the only wall, and " +
        `FFI to libsqlcipher reaches libc around them; no resource limits; key copies in ${this.#paths.keyRoot} ` +
        `(${filesystemType(ensurePrivateDir(this.#paths.keyRoot))})`,
    };
  }

  async launch(spec: LaunchSpec): Promise<SandboxHandle> {
    const { agent } = this.#paths;
    if (agent.kind === "executable") throw new LaunchError(spec.sessionId, executableRefused(agent.path));
    const s = resolveSpec(spec, agent);
    if (s.mounts.length) throw new LaunchError(s.sessionId, mountsRefused(s.mounts.map((m) => m.name)));
    const { stateDir, keyRoot } = this.#paths;
    const dirs = {
      logs: ensurePrivateDir(`${stateDir}/logs`),
      denoDir: ensurePrivateDir(`${stateDir}/deno-dir`),
    };
    const logPath = `${dirs.logs}/${s.sessionId}.log`;
    return await startSupervised({
      sessionId: s.sessionId,
      logPath,
      start: () => {
        const layout = {
          inboundDir: s.inboundDir,
          outboundDir: s.outboundDir,
          keyFile: handOffKey(keyRoot, s.sessionId, s.key, { requireTmpfs: false }),
          workspace: s.workspaceDir,
          memory: s.memoryDir,
          socketDir: s.socketDir,
          library: s.library,
        };
        const [command, ...args] = agentArgv(s.denoPath, s.program, layout, s.args);
        return spawnLogged(command, { args, logPath, env: { ...SANDBOX_ENV, DENO_DIR: dirs.denoDir } });
      },
      cleanup: () => Promise.resolve(removeKey(keyRoot, s.sessionId)),
    });
  }
}
