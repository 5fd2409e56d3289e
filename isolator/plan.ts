/**
 * What a sandbox contains, decided once for every backend: the bind mounts
 * from host paths to the fixed in-sandbox layout, the host's system library
 * directories, the identity, environment and the agent's command line.
 *
 * @module
 */
import {
  AGENT_RUNTIME_FLAGS,
  type AgentLayout,
  agentPermissionFlags,
  SANDBOX_LAYOUT,
} from "../contract/permissions.ts";
import type { ResolvedSpec } from "./spec.ts";
import type { AgentProgramKind, AgentRunner } from "./types.ts";

/** The agent's identity inside every sandbox (and on the host files it writes). */
export const SANDBOX_UID = 65532;
/** The agent's group. */
export const SANDBOX_GID = 65532;
/** The hostname inside sandboxes with their own UTS namespace. */
export const SANDBOX_HOSTNAME = "ironclaw-sandbox";
/** Where the Deno binary appears inside a sandbox. */
export const SANDBOX_DENO = "/opt/ironclaw/bin/deno";
/** Where the agent program appears inside a sandbox. */
export const SANDBOX_PROGRAM = "/opt/ironclaw/agent.js";
/** Where the compiled agent executable (`ironclaw-agent`) appears inside a sandbox. */
export const SANDBOX_AGENT = "/opt/ironclaw/ironclaw-agent";

/** The runner a backend's options ask for (`agentExecutable` set: the executable). */
export function agentRunner(opts: { denoPath?: string; agentExecutable?: string }): AgentRunner {
  return opts.agentExecutable === undefined
    ? { kind: "bundle", denoPath: opts.denoPath ?? Deno.execPath() }
    : { kind: "executable", path: opts.agentExecutable };
}

/**
 * The environment inside a sandbox. DENO_DIR names a directory that does not
 * exist on the read-only root, so Deno keeps no cache a sandbox could write
 * for a later one; when the host prepared the bundle's module-info cache, a
 * private per-launch copy is bound there instead (`deno_dir.ts`).
 */
export const SANDBOX_ENV: Readonly<Record<string, string>> = {
  PATH: "/usr/bin:/bin",
  DENO_DIR: "/opt/ironclaw/deno-dir",
  DENO_NO_UPDATE_CHECK: "1",
  NO_COLOR: "1",
};

/**
 * Deno's module-info cache (the imports it finds by parsing a module with
 * SWC before running it), as prepared on the host for a bundle: a file beside
 * the program, `<program>.deno-dir/dep_analysis_cache_v2`. Parsing the
 * 3.5 MB bundle for it is most of a cold start under gVisor's ptrace
 * platform (~15 CPU-s); with the entry ready it is a lookup. It holds data
 * (the import list and the source's hash, checked by Deno), never code: V8
 * still compiles the agent from its source, and `--deny-import` still refuses
 * every import. Deno cannot open it read-only, so each launch gets a private
 * copy on a small tmpfs (see `stageDenoDir` in `deno_dir.ts`) that is
 * discarded with the sandbox: nothing a sandbox writes there outlives it,
 * reaches another, or lands on the host's disk.
 */
export const MODULE_INFO_CACHE = "dep_analysis_cache_v2";

/** Where the host keeps the prepared Deno cache of `program`. */
export function programCacheDir(program: string): string {
  return `${program}.deno-dir`;
}

/** The agent's working directory: its workspace. */
export const SANDBOX_CWD = SANDBOX_LAYOUT.workspace;

/** The argument that tells the agent its layout; it precedes the agent's own arguments. */
export const LAYOUT_FLAG = "--layout";

/** One bind mount of a host path. All are nosuid and nodev. */
export interface BindMount {
  source: string;
  destination: string;
  writable: boolean;
  /** Whether code may be mapped executable from it (the Deno binary and libsqlcipher). */
  exec: boolean;
  isFile: boolean;
}

/** The Deno binary at {@link SANDBOX_DENO}. */
export function denoBind(source: string): BindMount {
  return { source, destination: SANDBOX_DENO, writable: false, exec: true, isFile: true };
}

/** The compiled agent at {@link SANDBOX_AGENT}: read-only, and executable since it is the program itself. */
export function agentExecutableBind(source: string): BindMount {
  return { source, destination: SANDBOX_AGENT, writable: false, exec: true, isFile: true };
}

/**
 * What brings the agent program into a sandbox: for a bundle, the Deno
 * binary and the bundle (a script, so not executable); for the compiled
 * agent, that one file and nothing else: no Deno binary.
 */
export function programBinds(spec: ResolvedSpec, kind: AgentProgramKind): BindMount[] {
  if (kind === "executable") return [agentExecutableBind(spec.program)];
  return [
    denoBind(spec.denoPath),
    { source: spec.program, destination: SANDBOX_PROGRAM, writable: false, exec: false, isFile: true },
  ];
}

/** The host's library directories, mirrored: real directories are bound read-only, symlinks recreated. */
export interface SystemLayout {
  binds: BindMount[];
  symlinks: { path: string; target: string }[];
}

const LIBRARY_DIRS = ["/lib", "/lib64", "/usr/lib", "/usr/lib64"];

/**
 * The directories the dynamic loader needs for Deno and libsqlcipher. On a
 * merged-/usr host `/lib` is a symlink to `usr/lib`, and stays one.
 */
export function systemLayout(): SystemLayout {
  const layout: SystemLayout = { binds: [], symlinks: [] };
  for (const path of LIBRARY_DIRS) {
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(path);
    } catch {
      continue;
    }
    if (info.isSymlink) layout.symlinks.push({ path, target: Deno.readLinkSync(path) });
    else if (info.isDirectory) {
      layout.binds.push({ source: path, destination: path, writable: false, exec: true, isFile: false });
    }
  }
  return layout;
}

/** The command line that runs the agent with the contract's flags for `layout`. */
export function agentArgv(
  deno: string,
  program: string,
  layout: AgentLayout,
  args: readonly string[],
): string[] {
  return [
    deno,
    "run",
    ...AGENT_RUNTIME_FLAGS,
    ...agentPermissionFlags(layout),
    program,
    `${LAYOUT_FLAG}=${JSON.stringify(layout)}`,
    ...args,
  ];
}

/**
 * The command line of the compiled agent: the executable and the layout, no
 * `run` and no permission flags (`deno compile` baked the contract's flags
 * for {@link SANDBOX_LAYOUT} into it, which is why the layout is always that one).
 */
export function executableArgv(executable: string, args: readonly string[]): string[] {
  return [executable, `${LAYOUT_FLAG}=${JSON.stringify(SANDBOX_LAYOUT)}`, ...args];
}

/**
 * The session's bind mounts onto {@link SANDBOX_LAYOUT}, the agent program's
 * first ({@link programBinds}), its group's approved mounts last (noexec,
 * read-only unless approved read-write); `keyCopy` is the tmpfs copy of the key.
 */
export function sessionBinds(spec: ResolvedSpec, keyCopy: string, kind: AgentProgramKind): BindMount[] {
  const bind = (source: string, destination: string, writable: boolean, isFile = false, exec = false) => ({
    source,
    destination,
    writable,
    exec,
    isFile,
  });
  return [
    ...programBinds(spec, kind),
    bind(spec.library, SANDBOX_LAYOUT.library, false, true, true),
    bind(keyCopy, SANDBOX_LAYOUT.keyFile, false, true),
    bind(spec.inboundDir, SANDBOX_LAYOUT.inboundDir, false),
    bind(spec.outboundDir, SANDBOX_LAYOUT.outboundDir, true),
    // Read-only still lets the agent connect to the host's sockets, but not replace them.
    bind(spec.socketDir, SANDBOX_LAYOUT.socketDir, false),
    bind(spec.workspaceDir, SANDBOX_LAYOUT.workspace, true),
    bind(spec.memoryDir, SANDBOX_LAYOUT.memory, true),
    ...spec.mounts.map((m) => bind(m.source, mountPoint(m.name), !m.readonly)),
  ];
}

/** Where mount `name` appears in a sandbox: `/mounts/<name>`. */
export function mountPoint(name: string): string {
  return `${SANDBOX_LAYOUT.mounts}/${name}`;
}

/** The agent's command line inside a sandbox: `deno run <flags> <bundle> …`, or the compiled agent `…` alone. */
export function sandboxArgv(spec: ResolvedSpec, kind: AgentProgramKind): string[] {
  return kind === "executable"
    ? executableArgv(SANDBOX_AGENT, spec.args)
    : agentArgv(SANDBOX_DENO, SANDBOX_PROGRAM, SANDBOX_LAYOUT, spec.args);
}

/**
 * The agent takes no `--version`: it refuses it like any bad start, with one
 * `ironclaw-agent: …` line and this exit code (`EXIT_BAD_START` in
 * `sandbox-agent/main.ts`).
 */
const AGENT_BAD_START = 2;

/** What a sandboxing backend's `check()` runs in a sandbox built like a session's, and how it judges the run. */
export interface SmokeRun {
  binds: BindMount[];
  argv: string[];
  /** The command, for messages. */
  what: string;
  /** Whether the program ran: its exit code (null when a signal ended it) and its output. */
  passed(code: number | null, output: string): boolean;
}

/**
 * The smoke run of a runner: `deno --version` for bundles; for the compiled
 * agent the agent itself with `--version`, which it answers with its
 * bad-start line. That line proves its runtime loaded and ran its code under
 * the seccomp filter and limits; a missing loader or library (127), a
 * seccomp kill (a signal) or a crash ends it otherwise.
 */
export function smokeRun(agent: AgentRunner): SmokeRun {
  if (agent.kind === "bundle") {
    return {
      binds: [denoBind(agent.denoPath)],
      argv: [SANDBOX_DENO, "--version"],
      what: "deno --version",
      passed: (code) => code === 0,
    };
  }
  return {
    binds: [agentExecutableBind(agent.path)],
    argv: [SANDBOX_AGENT, "--version"],
    what: "ironclaw-agent --version",
    passed: (code, output) => code === 0 || (code === AGENT_BAD_START && /^ironclaw-agent: /m.test(output)),
  };
}

/** Every directory strictly above `path`, outermost first (`/a/b/c` gives `/a`, `/a/b`). */
export function parentDirs(path: string): string[] {
  const parts = path.split("/").filter(Boolean);
  return parts.slice(0, -1).map((_, i) => `/${parts.slice(0, i + 1).join("/")}`);
}
