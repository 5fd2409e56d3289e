/**
 * The gVisor backend: each session is an OCI bundle run by `runsc` with no
 * network, the OCI seccomp allowlist enforced inside the sandbox, cgroup
 * limits, and host unix sockets reachable only by connecting to those bound in.
 *
 * @module
 */
import {
  type BackendPaths,
  backendPaths,
  runCommand,
  runtimePreflight,
  spawnLogged,
  startSupervised,
} from "./child.ts";
import { ensurePrivateDir, removeIfPresent, resolveSandboxSpec } from "./host_dirs.ts";
import { defaultKeyRoot, handOffKey, removeKey } from "./key.ts";
import { type OciConfigInput, writeBundle } from "./oci.ts";
import {
  type BindMount,
  SANDBOX_GID,
  SANDBOX_UID,
  sandboxArgv,
  sessionBinds,
  smokeRun,
  stageDenoDir,
  systemLayout,
} from "./plan.ts";
import { ociSeccompProfile } from "./seccomp.ts";
import type { ResolvedSpec } from "./spec.ts";
import {
  type AgentProgramKind,
  type CheckResult,
  DEFAULT_LIMITS,
  type Isolator,
  type IsolatorOptions,
  type LaunchSpec,
  type SandboxHandle,
} from "./types.ts";

/** gVisor's way of running sandbox code. kvm is selectable but hangs with the Debian 12 runsc build. */
export type RunscPlatform = "ptrace" | "kvm";

/** runsc backend options. */
export interface RunscOptions extends IsolatorOptions {
  /** The runsc binary; default `runsc` on PATH. */
  runsc?: string;
  /** Default `ptrace`. */
  platform?: RunscPlatform;
}

const LIVE_STATES = new Set(["creating", "created", "running"]);

/**
 * A session's OCI bundle input: the agent's command line and binds for
 * `kind` (a bundle run by Deno, or the compiled agent alone), plus the staged
 * module-info cache of a bundle (`denoDir`; never for the compiled agent).
 */
export function runscSessionInput(
  s: ResolvedSpec,
  keyCopy: string,
  kind: AgentProgramKind,
  denoDir?: BindMount,
): OciConfigInput {
  return {
    argv: sandboxArgv(s, kind),
    binds: [...sessionBinds(s, keyCopy, kind), ...(denoDir ? [denoDir] : [])],
    system: systemLayout(),
    limits: s.limits,
    cgroupsPath: `/ironclaw/${s.sessionId}`,
  };
}

/** Sessions under gVisor. */
export class RunscIsolator implements Isolator {
  readonly kind = "runsc";
  readonly strength = "gvisor";
  readonly #binary: string;
  readonly #platform: RunscPlatform;
  readonly #paths: BackendPaths;

  constructor(opts: RunscOptions) {
    this.#binary = opts.runsc ?? "runsc";
    this.#platform = opts.platform ?? "ptrace";
    this.#paths = backendPaths(opts, defaultKeyRoot);
  }

  #dirs() {
    return {
      runtime: ensurePrivateDir(`${this.#paths.stateDir}/runsc`),
      bundles: ensurePrivateDir(`${this.#paths.stateDir}/bundles`),
      logs: ensurePrivateDir(`${this.#paths.stateDir}/logs`),
    };
  }

  #globalFlags(runtime: string): string[] {
    // --host-uds=open: the agent may connect to host sockets bound in, never create them.
    // --file-access-mounts=shared (runsc's default, pinned): the Sentry revalidates its caches of the
    // bind-mounted queue directories, so the agent sees the host's committed inbound writes and the
    // host's journal come and go. --overlay2=none: writes to mounts must reach the host files, never a
    // sandbox-private overlay (later runsc releases overlay the root by default; mounts must stay out).
    // SQLite's POSIX locks still stay inside the Sentry: the queue lease (contract/sockets.ts) covers that.
    return [
      "--root",
      runtime,
      "--platform",
      this.#platform,
      "--network=none",
      "--oci-seccomp",
      "--host-uds=open",
      "--file-access-mounts=shared",
      "--overlay2=none",
    ];
  }

  /**
   * Runs `deno --version` (or, for the compiled agent, the agent itself) in a
   * bundle hardened like a session's, limits and seccomp included.
   */
  async check(): Promise<CheckResult> {
    const preflight = await runtimePreflight("runsc", this.#binary);
    if ("failed" in preflight) return preflight.failed;
    try {
      ociSeccompProfile();
    } catch (err) {
      return { ok: false, detail: (err as Error).message };
    }
    const dirs = this.#dirs();
    const name = `check-${crypto.randomUUID()}`;
    const bundle = `${dirs.bundles}/${name}`;
    const smoke = smokeRun(this.#paths.agent);
    try {
      writeBundle(bundle, {
        argv: smoke.argv,
        binds: smoke.binds,
        system: systemLayout(),
        limits: { ...DEFAULT_LIMITS },
        cgroupsPath: `/ironclaw/${name}`,
      });
      const run = await runCommand(this.#binary, [
        ...this.#globalFlags(dirs.runtime),
        "run",
        "--bundle",
        bundle,
        name,
      ]);
      if (!smoke.passed(run.code, `${run.stdout}\n${run.stderr}`)) {
        return {
          ok: false,
          detail: `runsc cannot start a hardened sandbox here (${smoke.what} exited ${run.code}): ${
            run.stderr || run.stdout
          }`,
        };
      }
    } finally {
      await runCommand(this.#binary, ["--root", dirs.runtime, "delete", "--force", name]);
      removeIfPresent(bundle);
    }
    return {
      ok: true,
      detail:
        `gVisor (${
          preflight.version.split("\n")[0]
        }, platform ${this.#platform}): user-space kernel, no network, ` +
        "seccomp allowlist (threads but no new process, no execve), uid 65532 without capabilities, read-only " +
        "root; memory, pids and CPU limits enforced " +
        "through cgroups",
    };
  }

  async launch(spec: LaunchSpec): Promise<SandboxHandle> {
    const { agent } = this.#paths;
    const s = resolveSandboxSpec("runsc", spec, agent);
    const dirs = this.#dirs();
    const id = `ironclaw-${s.sessionId}`;
    const global = this.#globalFlags(dirs.runtime);
    const bundle = `${dirs.bundles}/${s.sessionId}`;
    const logPath = `${dirs.logs}/${s.sessionId}.log`;
    const denoDir = `${bundle}.deno-dir`;
    const cleanup = async () => {
      await runCommand(this.#binary, ["--root", dirs.runtime, "delete", "--force", id]);
      removeKey(this.#paths.keyRoot, s.sessionId);
      removeIfPresent(bundle);
      removeIfPresent(denoDir);
    };
    // A host crash can leave a container of the same id behind.
    await cleanup();
    const keyRoot = this.#paths.keyRoot;
    return await startSupervised({
      sessionId: s.sessionId,
      logPath,
      start: () => {
        const keyCopy = handOffKey(keyRoot, s.sessionId, s.key, {
          owner: { uid: SANDBOX_UID, gid: SANDBOX_GID },
        });
        // The module-info cache is Deno's analysis of the bundle file; a compiled agent has no such file.
        const cache = agent.kind === "bundle"
          ? stageDenoDir(s.program, denoDir, { uid: SANDBOX_UID, gid: SANDBOX_GID })
          : undefined;
        writeBundle(bundle, runscSessionInput(s, keyCopy, agent.kind, cache));
        return spawnLogged(this.#binary, { args: [...global, "run", "--bundle", bundle, id], logPath });
      },
      alive: async () => {
        const state = await runCommand(this.#binary, ["--root", dirs.runtime, "state", id]);
        // No state yet means runsc is still creating the container.
        if (!state.success) return true;
        try {
          return LIVE_STATES.has(JSON.parse(state.stdout).status);
        } catch {
          return true;
        }
      },
      terminate: async (child) => {
        await runCommand(this.#binary, ["--root", dirs.runtime, "kill", id, "KILL"]);
        await runCommand(this.#binary, ["--root", dirs.runtime, "delete", "--force", id]);
        try {
          child.kill("SIGKILL");
        } catch {
          // runsc already exited with its container.
        }
      },
      cleanup,
    });
  }
}
