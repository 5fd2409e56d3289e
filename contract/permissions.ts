/**
 * Deno permission flags of the two programs, declared once. `deno compile`
 * bakes these into the release binaries, and every `deno run` (dev, tests,
 * the sandbox launch) passes the very same list.
 *
 * @module
 */
import {
  CLAIM_SOCKET_NAME,
  DOORBELL_SOCKET_NAME,
  EGRESS_SOCKET_NAME,
  LEASE_SOCKET_NAME,
  MCP_SOCKET_NAME,
  MODEL_SOCKET_NAME,
} from "./sockets.ts";

/** Where things are, as the agent sees them. */
export interface AgentLayout {
  /** Directory holding `inbound.db` (read-only). */
  inboundDir: string;
  /** Directory holding `outbound.db` and its journal (read-write). */
  outboundDir: string;
  /** The session key file. */
  keyFile: string;
  /** The agent's durable workspace. */
  workspace: string;
  /** The agent's durable memory. */
  memory: string;
  /** Directory of host-owned unix sockets (model proxy, doorbell, queue lease, egress and MCP brokers). */
  socketDir: string;
  /** libsqlcipher, the only library the agent may load. */
  library: string;
  /**
   * Where the host binds the agent group's approved mounts, one directory
   * `<mounts>/<name>` each (read-only unless the approval said otherwise);
   * absent where the backend binds none (the process backend).
   */
  mounts?: string;
}

/** The fixed layout inside the sandbox (mount points of the OCI bundle). */
export const SANDBOX_LAYOUT: Required<AgentLayout> = {
  inboundDir: "/run/ironclaw/in",
  outboundDir: "/run/ironclaw/out",
  keyFile: "/run/ironclaw/key/session.key",
  workspace: "/workspace",
  memory: "/memory",
  socketDir: "/run/ironclaw/sock",
  library: "/opt/ironclaw/lib/libsqlcipher.so",
  mounts: "/mounts",
};

/**
 * The agent's flags: no network but connecting to the host's six sockets,
 * no environment, no subprocesses, no system information; it reads only its
 * queues, key, workspace, memory and mounts, writes only outbound, workspace,
 * memory and mounts (a read-only mount is read-only in the sandbox's kernel,
 * whatever Deno allows), and may load only libsqlcipher.
 */
export function agentPermissionFlags(layout: AgentLayout): string[] {
  return [
    "--no-prompt",
    // Deno gates unix-socket connects as net access to `unix:<path>`; the
    // grant names each socket file (a directory grant does not match), and
    // `--deny-net` still refuses every TCP/UDP host and every listen.
    "--deny-net",
    `--allow-net=${
      [
        MODEL_SOCKET_NAME,
        DOORBELL_SOCKET_NAME,
        LEASE_SOCKET_NAME,
        EGRESS_SOCKET_NAME,
        MCP_SOCKET_NAME,
        CLAIM_SOCKET_NAME,
      ].map((name) => `unix:${layout.socketDir}/${name}`).join(",")
    }`,
    "--deny-env",
    "--deny-run",
    "--deny-sys",
    "--deny-import",
    `--allow-read=${
      [
        layout.inboundDir,
        layout.outboundDir,
        layout.keyFile,
        layout.workspace,
        layout.memory,
        layout.socketDir,
        ...(layout.mounts ? [layout.mounts] : []),
      ]
        .join(",")
    }`,
    `--allow-write=${
      [
        layout.outboundDir,
        layout.workspace,
        layout.memory,
        layout.socketDir,
        ...(layout.mounts ? [layout.mounts] : []),
      ]
        .join(",")
    }`,
    `--allow-ffi=${layout.library}`,
  ];
}

/**
 * The agent's runtime flags: not permissions (so not in
 * {@link agentPermissionFlags}, whose list `deno compile` bakes as the
 * permission set), but part of how the agent must run. A `deno run` of the
 * agent passes them before the permission flags; `deno compile` takes them as
 * options. Measured under gVisor's ptrace platform (docs/benchmarks.md,
 * 2026-11-26, second pass):
 *
 * - `--no-code-cache`: otherwise Deno serialises the bundle's V8 code cache
 *   (~3.5 MB) into the sandbox's private `DENO_DIR` copy on every start,
 *   right after evaluating the module and before the agent's first poll,
 *   into a directory that is discarded with the sandbox: written every time,
 *   never read. Costs ~0.4–0.6 CPU-s and ~0.3–0.6 s of each cold start and
 *   ~7 MiB of the sandbox's memory. The compiled agent already runs without it.
 * - `--v8-flags=--lite-mode,--single-threaded-gc`: no optimising compiler,
 *   feedback vectors allocated lazily, and garbage collection without helper
 *   threads: ~4 MiB less idle memory per sandbox and no slower cold start or
 *   warm turn (the agent's own JavaScript is glue around I/O).
 */
export const AGENT_RUNTIME_FLAGS: readonly string[] = [
  "--no-code-cache",
  "--v8-flags=--lite-mode,--single-threaded-gc",
];

/**
 * The host's flags. The control plane is trusted: it reads and writes its
 * state directory, serves the API, spawns the sandbox runtime and loads
 * libsqlcipher. `--allow-run` and an unscoped `--allow-ffi` already amount to
 * everything, and Deno grants `/dev` (the key tmpfs in /dev/shm, loop devices
 * for workspace quotas) and `/proc` only with all permissions, so the host
 * asks for exactly that rather than pretend to a narrower grant.
 */
export const HOST_PERMISSION_FLAGS: readonly string[] = ["--no-prompt", "--allow-all"];

/** Source entry points of the two programs, relative to the repository root. */
export const ENTRYPOINTS = {
  host: "cli/main.ts",
  agent: "sandbox-agent/main.ts",
} as const;
