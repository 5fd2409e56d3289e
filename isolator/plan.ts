/**
 * What a sandbox contains, decided once for every backend: the bind mounts
 * from host paths to the fixed in-sandbox layout, the host's system library
 * directories, the identity, environment and the agent's command line.
 *
 * @module
 */
import { type AgentLayout, agentPermissionFlags, SANDBOX_LAYOUT } from "../contract/permissions.ts";
import type { ResolvedSpec } from "./spec.ts";

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

/**
 * The environment inside a sandbox. DENO_DIR names a directory that does not
 * exist on a read-only root: Deno runs a bundled program without a cache.
 */
export const SANDBOX_ENV: Readonly<Record<string, string>> = {
  PATH: "/usr/bin:/bin",
  DENO_DIR: "/opt/ironclaw/deno-dir",
  DENO_NO_UPDATE_CHECK: "1",
  NO_COLOR: "1",
};

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
    ...agentPermissionFlags(layout),
    program,
    `${LAYOUT_FLAG}=${JSON.stringify(layout)}`,
    ...args,
  ];
}

/** The session's bind mounts onto {@link SANDBOX_LAYOUT}; `keyCopy` is the tmpfs copy of the key. */
export function sessionBinds(spec: ResolvedSpec, keyCopy: string): BindMount[] {
  const bind = (source: string, destination: string, writable: boolean, isFile = false, exec = false) => ({
    source,
    destination,
    writable,
    exec,
    isFile,
  });
  return [
    denoBind(spec.denoPath),
    bind(spec.program, SANDBOX_PROGRAM, false, true),
    bind(spec.library, SANDBOX_LAYOUT.library, false, true, true),
    bind(keyCopy, SANDBOX_LAYOUT.keyFile, false, true),
    bind(spec.inboundDir, SANDBOX_LAYOUT.inboundDir, false),
    bind(spec.outboundDir, SANDBOX_LAYOUT.outboundDir, true),
    // Read-only still lets the agent connect to the host's sockets, but not replace them.
    bind(spec.socketDir, SANDBOX_LAYOUT.socketDir, false),
    bind(spec.workspaceDir, SANDBOX_LAYOUT.workspace, true),
    bind(spec.memoryDir, SANDBOX_LAYOUT.memory, true),
  ];
}

/** The agent's command line inside a sandbox. */
export function sandboxArgv(spec: ResolvedSpec): string[] {
  return agentArgv(SANDBOX_DENO, SANDBOX_PROGRAM, SANDBOX_LAYOUT, spec.args);
}

/** Every directory strictly above `path`, outermost first (`/a/b/c` gives `/a`, `/a/b`). */
export function parentDirs(path: string): string[] {
  const parts = path.split("/").filter(Boolean);
  return parts.slice(0, -1).map((_, i) => `/${parts.slice(0, i + 1).join("/")}`);
}
