/**
 * The bubblewrap backend: Linux namespaces (pid, ipc, uts, net, mount,
 * cgroup) around a read-only tmpfs root holding only the bound-in paths, no
 * capabilities, the seccomp allowlist, and uid 65532. It shares the host
 * kernel, and bwrap has no cgroup support: memory, pids and CPU are not limited.
 * Its filter allows threads but no new process; it must keep `execve`, which
 * bwrap and setpriv still need after loading it.
 *
 * bwrap runs as root so it can reach host paths whatever their modes, and
 * `setpriv` drops to the sandbox uid inside: bwrap's own `--uid` would leave
 * the agent as host root in a user namespace, unable to open files the
 * sandbox uid owns.
 *
 * @module
 */
import { type BackendPaths, backendPaths, runtimePreflight, spawnLogged, startSupervised } from "./child.ts";
import { releaseDenoDir, stageDenoDir } from "./deno_dir.ts";
import { ensurePrivateDir, resolveSandboxSpec } from "./host_dirs.ts";
import { defaultKeyRoot, handOffKey, removeKey } from "./key.ts";
import {
  type BindMount,
  parentDirs,
  SANDBOX_CWD,
  SANDBOX_ENV,
  SANDBOX_GID,
  SANDBOX_HOSTNAME,
  SANDBOX_UID,
  sandboxArgv,
  sessionBinds,
  smokeRun,
  systemLayout,
} from "./plan.ts";
import { BWRAP_POLICY, seccompBpf } from "./seccomp.ts";
import type { ResolvedSpec } from "./spec.ts";
import type {
  AgentProgramKind,
  CheckResult,
  Isolator,
  IsolatorOptions,
  LaunchSpec,
  SandboxHandle,
} from "./types.ts";

/** bwrap backend options; the binaries default to their names on PATH. */
export interface BwrapOptions extends IsolatorOptions {
  bwrap?: string;
  /** util-linux `setpriv`, bound into the sandbox to drop root. */
  setpriv?: string;
  /** util-linux `prlimit`, which sets the sandbox's rlimits. */
  prlimit?: string;
}

const SANDBOX_SETPRIV = "/opt/ironclaw/bin/setpriv";
const TMP_BYTES = 64 * 1024 * 1024;

/** Resolves a binary name on PATH: setpriv is bound into the sandbox by its host path. */
function which(binary: string): string {
  if (binary.includes("/")) return binary;
  for (const dir of (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":")) {
    try {
      if (Deno.statSync(`${dir}/${binary}`).isFile) return `${dir}/${binary}`;
    } catch {
      // not in this directory
    }
  }
  throw new Error(`${binary} is not installed`);
}

/** util-linux `setpriv` (a name on PATH or a path), bound into the sandbox where {@link bwrapArgs} runs it. */
export function setprivBind(setpriv: string): BindMount {
  return { source: which(setpriv), destination: SANDBOX_SETPRIV, writable: false, exec: true, isFile: true };
}

/** What differs between an agent's bwrap sandbox and a tool server's (defaults: the agent's). */
export interface BwrapLayout {
  /** The whole environment (default {@link SANDBOX_ENV}). */
  env?: Readonly<Record<string, string>>;
  /** The working directory (default {@link SANDBOX_CWD}), made if absent. */
  cwd?: string;
  /** The descriptor bwrap reads the seccomp program from (default 0: stdin). */
  seccompFd?: number;
}

/** bwrap arguments for a sandbox running `argv` with `binds`; the seccomp program is read from stdin. */
export function bwrapArgs(
  binds: readonly BindMount[],
  argv: readonly string[],
  layout: BwrapLayout = {},
): string[] {
  const cwd = layout.cwd ?? SANDBOX_CWD;
  const system = systemLayout();
  const all = [...system.binds, ...binds];
  // bwrap makes missing parents 0700, which the sandbox uid could not traverse.
  const parents = [...new Set(all.flatMap((b) => parentDirs(b.destination)))].sort();
  return [
    "--unshare-ipc",
    "--unshare-pid",
    "--unshare-net",
    "--unshare-uts",
    "--unshare-cgroup-try",
    "--die-with-parent",
    "--new-session",
    "--cap-drop",
    "ALL",
    // Only for setpriv to change uid and clear the bounding set; the uid change then empties every set.
    ...["CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP"].flatMap((cap) => ["--cap-add", cap]),
    "--hostname",
    SANDBOX_HOSTNAME,
    "--clearenv",
    ...Object.entries(layout.env ?? SANDBOX_ENV).flatMap(([k, v]) => ["--setenv", k, v]),
    ...system.symlinks.flatMap((link) => ["--symlink", link.target, link.path]),
    ...["--perms", "0755", "--dir", cwd],
    "--proc",
    "/proc",
    "--dev",
    "/dev",
    ...["--perms", "01777", "--size", String(TMP_BYTES), "--tmpfs", "/tmp"],
    // After /tmp's tmpfs, so that a bind under /tmp (a tool server's declared path) has traversable parents.
    ...parents.flatMap((dir) => ["--perms", "0755", "--dir", dir]),
    ...all.flatMap((b) => [b.writable ? "--bind" : "--ro-bind", b.source, b.destination]),
    "--remount-ro",
    "/",
    "--seccomp",
    String(layout.seccompFd ?? 0),
    "--chdir",
    cwd,
    "--",
    SANDBOX_SETPRIV,
    `--reuid=${SANDBOX_UID}`,
    `--regid=${SANDBOX_GID}`,
    "--clear-groups",
    "--inh-caps=-all",
    "--bounding-set=-all",
    "--no-new-privs",
    "--",
    ...argv,
  ];
}

/**
 * A session's binds and command line for `kind` (a bundle run by Deno, or
 * the compiled agent alone), plus the staged module-info cache of a bundle
 * (`denoDir`; never for the compiled agent). `setpriv` is added at spawn.
 */
export function bwrapSession(
  s: ResolvedSpec,
  keyCopy: string,
  kind: AgentProgramKind,
  denoDir?: BindMount,
): { binds: BindMount[]; argv: string[] } {
  return {
    binds: [...sessionBinds(s, keyCopy, kind), ...(denoDir ? [denoDir] : [])],
    argv: sandboxArgv(s, kind),
  };
}

/** Sessions in Linux namespaces via bubblewrap. */
export class BwrapIsolator implements Isolator {
  readonly kind = "bwrap";
  readonly strength = "namespaces";
  readonly #bwrap: string;
  readonly #setpriv: string;
  readonly #prlimit: string;
  readonly #paths: BackendPaths;

  constructor(opts: BwrapOptions) {
    this.#bwrap = opts.bwrap ?? "bwrap";
    this.#setpriv = opts.setpriv ?? "setpriv";
    this.#prlimit = opts.prlimit ?? "prlimit";
    this.#paths = backendPaths(opts, defaultKeyRoot);
  }

  async #spawn(binds: BindMount[], argv: string[], logPath: string) {
    const all = [...binds, setprivBind(this.#setpriv)];
    return await spawnLogged(this.#prlimit, {
      // No core dumps: the key is in the agent's memory. bwrap reads the seccomp program from stdin.
      args: ["--core=0", "--nofile=1024:1024", "--", this.#bwrap, ...bwrapArgs(all, argv)],
      logPath,
      stdin: seccompBpf(Deno.build.arch, BWRAP_POLICY),
    });
  }

  /** Runs `deno --version` (or, for the compiled agent, the agent itself) in a sandbox built like a session's. */
  async check(): Promise<CheckResult> {
    const preflight = await runtimePreflight("bwrap", this.#bwrap);
    if ("failed" in preflight) return preflight.failed;
    const logPath = `${ensurePrivateDir(`${this.#paths.stateDir}/logs`)}/check-${crypto.randomUUID()}.log`;
    const smoke = smokeRun(this.#paths.agent);
    try {
      const started = await this.#spawn(smoke.binds, smoke.argv, logPath);
      const status = await started.exited;
      const output = Deno.readTextFileSync(logPath).trim();
      if (!smoke.passed(status.code, output)) {
        return {
          ok: false,
          detail: `bwrap cannot start a hardened sandbox here (${smoke.what} exited ${
            status.code ?? status.signal
          }): ${output}`,
        };
      }
    } catch (err) {
      return { ok: false, detail: `bwrap cannot start a hardened sandbox here: ${(err as Error).message}` };
    } finally {
      Deno.removeSync(logPath);
    }
    return {
      ok: true,
      detail:
        `namespaces (${preflight.version}): own pid, ipc, uts, net and mount namespaces, seccomp allowlist, ` +
        "uid 65532 without capabilities, read-only root; shares the host kernel; memory, pids and CPU limits " +
        "are NOT enforced (no cgroups); no fork or spawn, but execve stays allowed (setpriv and the agent's " +
        "program are exec'd after the filter is loaded)",
    };
  }

  async launch(spec: LaunchSpec): Promise<SandboxHandle> {
    const { agent } = this.#paths;
    const s = resolveSandboxSpec("bwrap", spec, agent);
    const { stateDir, keyRoot } = this.#paths;
    const logPath = `${ensurePrivateDir(`${stateDir}/logs`)}/${s.sessionId}.log`;
    const denoDir = `${ensurePrivateDir(`${stateDir}/deno-dirs`)}/${s.sessionId}`;
    // bwrap is the sandbox's parent and pid 1 of its namespace: the default SIGKILL to it ends everything inside.
    return await startSupervised({
      sessionId: s.sessionId,
      logPath,
      start: async () => {
        const owner = { uid: SANDBOX_UID, gid: SANDBOX_GID };
        const keyCopy = handOffKey(keyRoot, s.sessionId, s.key, { owner });
        // The module-info cache is Deno's analysis of the bundle file; a compiled agent has no such file.
        const cache = agent.kind === "bundle" ? await stageDenoDir(s.program, denoDir, owner) : undefined;
        const { binds, argv } = bwrapSession(s, keyCopy, agent.kind, cache);
        return this.#spawn(binds, argv, logPath);
      },
      cleanup: async () => {
        removeKey(keyRoot, s.sessionId);
        await releaseDenoDir(denoDir);
      },
    });
  }
}
