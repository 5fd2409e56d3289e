/**
 * The gVisor backend: each session is an OCI bundle run by `runsc` with no
 * network, the OCI seccomp allowlist enforced inside the sandbox, cgroup
 * limits, and host unix sockets reachable only by connecting to those bound in.
 * Its host processes run with a 1 ms timer slack (`timer_slack.ts`).
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
import { applyCpuLimit, CGROUP_FS, START_WINDOW_MS, startCpus } from "./cpu_quota.ts";
import { ensurePrivateDir, removeIfPresent, resolveSandboxSpec } from "./host_dirs.ts";
import { releaseDenoDir, stageDenoDir } from "./deno_dir.ts";
import { defaultKeyRoot, handOffKey, removeKey } from "./key.ts";
import { type OciConfigInput, writeBundle } from "./oci.ts";
import {
  type BindMount,
  SANDBOX_GID,
  SANDBOX_UID,
  sandboxArgv,
  sessionBinds,
  smokeRun,
  systemLayout,
} from "./plan.ts";
import { ociSeccompProfile } from "./seccomp.ts";
import { SANDBOX_TIMER_SLACK_NS } from "./timer_slack.ts";
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
  /**
   * How long a sandbox may use every core before it is held to its CPU limit
   * (default {@link START_WINDOW_MS}; 0: held to it from the start). See `cpu_quota.ts`.
   */
  startWindowMs?: number;
  /** Where the cgroup filesystems are mounted (default `/sys/fs/cgroup`). */
  cgroupFs?: string;
}

const LIVE_STATES = new Set(["creating", "created", "running"]);
/** States in which runsc has set the sandbox's cgroup up (it does so once, before the first of them). */
const APPLICABLE_STATES = new Set(["created", "running", "paused"]);
/** How often the end of the start window asks whether runsc has finished creating the sandbox. */
const CREATED_POLL_MS = 250;

/**
 * Tells the agent that no process outside the sandbox sees its file locks
 * (the Sentry keeps POSIX locks to itself; the queue lease keeps host and
 * agent apart), so its outbound writer may hold its lock for its life
 * (`PRIVATE_LOCK_WRITER_PRAGMAS` in `contract/cipher.ts`): fewer syscalls per
 * transaction, each a ptrace round trip here.
 */
export const PRIVATE_QUEUE_LOCKS_ARG = "--queue-locks=private";

/** The cgroup runsc creates for a sandbox (a session's, or the smoke run's). */
function sandboxCgroup(id: string): string {
  return `/ironclaw/${id}`;
}

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
  startCpus?: number,
): OciConfigInput {
  return {
    argv: sandboxArgv({ ...s, args: [...s.args, PRIVATE_QUEUE_LOCKS_ARG] }, kind),
    binds: [...sessionBinds(s, keyCopy, kind), ...(denoDir ? [denoDir] : [])],
    system: systemLayout(),
    limits: s.limits,
    startCpus,
    cgroupsPath: sandboxCgroup(s.sessionId),
  };
}

/**
 * The sandbox's runsc flags, the one constant both this backend and the
 * Kubernetes handler config (`deploy/k8s/runsc.toml`, `[runsc_config]`) use.
 * `host-uds=open`: the agent may connect to host sockets bound in, never
 * create them. `file-access-mounts=shared` (runsc's default, pinned): the
 * Sentry revalidates its caches of the bind-mounted queue directories, so the
 * agent sees the host's committed inbound writes and the host's journal come
 * and go. `overlay2=none`: writes to mounts must reach the host files, never
 * a sandbox-private overlay (later runsc releases overlay the root by
 * default). SQLite's POSIX locks still stay inside the Sentry: the queue
 * lease (contract/sockets.ts) covers that.
 */
export const RUNSC_SANDBOX_FLAGS: Readonly<Record<string, string>> = {
  "network": "none",
  "oci-seccomp": "true",
  "host-uds": "open",
  "file-access-mounts": "shared",
  "overlay2": "none",
};

/** {@link RUNSC_SANDBOX_FLAGS} as runsc's command-line flags. */
export function runscFlagArgs(): string[] {
  return Object.entries(RUNSC_SANDBOX_FLAGS).map(([flag, value]) => `--${flag}=${value}`);
}

/** Sessions under gVisor. */
export class RunscIsolator implements Isolator {
  readonly kind = "runsc";
  readonly strength = "gvisor";
  readonly #binary: string;
  readonly #platform: RunscPlatform;
  readonly #paths: BackendPaths;
  readonly #startWindowMs: number;
  readonly #cgroupFs: string;

  constructor(opts: RunscOptions) {
    this.#binary = opts.runsc ?? "runsc";
    this.#platform = opts.platform ?? "ptrace";
    this.#paths = backendPaths(opts, defaultKeyRoot);
    this.#startWindowMs = opts.startWindowMs ?? START_WINDOW_MS;
    this.#cgroupFs = opts.cgroupFs ?? CGROUP_FS;
  }

  #dirs() {
    return {
      runtime: ensurePrivateDir(`${this.#paths.stateDir}/runsc`),
      bundles: ensurePrivateDir(`${this.#paths.stateDir}/bundles`),
      logs: ensurePrivateDir(`${this.#paths.stateDir}/logs`),
    };
  }

  #globalFlags(runtime: string): string[] {
    return ["--root", runtime, "--platform", this.#platform, ...runscFlagArgs()];
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
        cgroupsPath: sandboxCgroup(name),
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
        "root; memory, pids and CPU limits enforced through cgroups" +
        (this.#startWindowMs > 0
          ? ` (the CPU limit after a ${this.#startWindowMs / 1000} s start window)`
          : ""),
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
    const burst = this.#startWindowMs > 0 ? startCpus(s.limits.cpus) : s.limits.cpus;
    const cleanup = async () => {
      await runCommand(this.#binary, ["--root", dirs.runtime, "delete", "--force", id]);
      removeKey(this.#paths.keyRoot, s.sessionId);
      removeIfPresent(bundle);
      await releaseDenoDir(denoDir);
    };
    // A host crash can leave a container of the same id behind.
    await cleanup();
    const keyRoot = this.#paths.keyRoot;
    const handle = await startSupervised({
      sessionId: s.sessionId,
      logPath,
      start: async () => {
        const keyCopy = handOffKey(keyRoot, s.sessionId, s.key, {
          owner: { uid: SANDBOX_UID, gid: SANDBOX_GID },
        });
        // The module-info cache is Deno's analysis of the bundle file; a compiled agent has no such file.
        const cache = agent.kind === "bundle"
          ? await stageDenoDir(s.program, denoDir, { uid: SANDBOX_UID, gid: SANDBOX_GID })
          : undefined;
        writeBundle(bundle, runscSessionInput(s, keyCopy, agent.kind, cache, burst));
        // Every host thread of the sandbox inherits the slack (timer_slack.ts: the Sentry's Go monitor thread).
        return spawnLogged(this.#binary, {
          args: [...global, "run", "--bundle", bundle, id],
          logPath,
          timerSlackNs: SANDBOX_TIMER_SLACK_NS,
        });
      },
      alive: async () => {
        const status = await this.#status(dirs.runtime, id);
        // No state yet means runsc is still creating the container.
        return status === undefined || LIVE_STATES.has(status);
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
    if (burst <= s.limits.cpus) return handle;
    return this.#limitAfterStart(handle, id, dirs.runtime, sandboxCgroup(s.sessionId), s.limits.cpus);
  }

  /** The container's status as runsc reports it; undefined while it has no state (being created, or gone). */
  async #status(runtime: string, id: string): Promise<string | undefined> {
    const state = await runCommand(this.#binary, ["--root", runtime, "state", id]);
    if (!state.success) return undefined;
    try {
      return String(JSON.parse(state.stdout).status);
    } catch {
      return undefined;
    }
  }

  /**
   * Holds the sandbox to its CPU limit once the start window has passed and
   * runsc has finished creating it (runsc writes the cgroup's quota once,
   * before the container has a state, so it cannot overwrite ours). Fails
   * closed: a sandbox whose limit cannot be applied is stopped, the reason
   * in its log.
   */
  #limitAfterStart(
    handle: SandboxHandle,
    id: string,
    runtime: string,
    cgroupsPath: string,
    cpus: number,
  ): SandboxHandle {
    let ended = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let applying: Promise<void> | undefined;
    const apply = async () => {
      timer = undefined;
      if (ended) return;
      const status = await this.#status(runtime, id);
      if (ended || status === "stopped") return;
      if (status === undefined || !APPLICABLE_STATES.has(status)) {
        timer = setTimeout(() => applying = apply(), CREATED_POLL_MS);
        return;
      }
      try {
        applyCpuLimit(cgroupsPath, cpus, this.#cgroupFs);
      } catch (err) {
        if (ended) return;
        const reason = err instanceof Error ? err.message : String(err);
        await Deno.writeTextFile(
          handle.logPath,
          `ironclaw: the sandbox's CPU limit could not be applied (${reason}); stopping it\n`,
          { append: true },
        ).catch(() => {});
        await handle.stop();
      }
    };
    const end = () => {
      ended = true;
      clearTimeout(timer);
    };
    timer = setTimeout(() => applying = apply(), this.#startWindowMs);
    handle.exited.then(end, end);
    return {
      ...handle,
      stop: async () => {
        end();
        await handle.stop();
        await applying;
      },
    };
  }
}
