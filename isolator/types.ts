/**
 * The isolator interface: one way to start a session's agent in a sandbox,
 * three backends of decreasing strength.
 *
 * @module
 */
import type { SessionKey } from "../contract/cipher.ts";

/** Which backend (`kubernetes`: gVisor Pods on this node of a cluster, never chosen by `auto`). */
export type IsolatorKind = "runsc" | "bwrap" | "process" | "kubernetes";

/** What stands between the agent and the host: a gVisor kernel, Linux namespaces, or nothing but Deno's permissions. */
export type IsolationStrength = "gvisor" | "namespaces" | "none";

/** Whether a backend can run here, and what it provides or lacks. */
export interface CheckResult {
  ok: boolean;
  detail: string;
}

/** Resource ceilings of one sandbox. */
export interface Limits {
  memoryMiB: number;
  pids: number;
  cpus: number;
}

/** Defaults (§11): 512 MiB, 256 pids, one CPU. */
export const DEFAULT_LIMITS: Readonly<Limits> = { memoryMiB: 512, pids: 256, cpus: 1 };

/**
 * The session key, as bytes or as a key file (64 hex characters or 32 raw
 * bytes); `none` for a warm spare, which has no session yet: its key file is
 * empty and its key comes later over the claim socket (`CLAIM_SOCKET_NAME`).
 */
export type KeySource = { bytes: SessionKey } | { file: string } | { none: true };

/**
 * An approved mount as the host resolved it: `source` is its real directory
 * (symlinks resolved, checked against the operator's prefixes), bound at
 * `<layout mounts>/<name>`, read-only unless `readonly` is false.
 */
export interface SandboxMount {
  name: string;
  source: string;
  readonly: boolean;
}

/** Everything one launch needs; every path is a host path. */
export interface LaunchSpec {
  sessionId: string;
  /** Directory holding `inbound.db`: mounted read-only. */
  inboundDir: string;
  /** Directory holding `outbound.db` and its journal: mounted read-write. */
  outboundDir: string;
  /** The session key; the sandbox sees a copy on tmpfs, removed when the sandbox ends. */
  key: KeySource;
  /** The agent group's durable workspace. */
  workspaceDir: string;
  /** The agent group's durable memory. */
  memoryDir: string;
  /** Directory of the session's host-owned unix sockets. */
  socketDir: string;
  /** libsqlcipher. */
  library: string;
  /** The Deno binary that runs a bundled agent (unused when the backend runs an agent executable). */
  denoPath: string;
  /**
   * The agent program: a bundle (a single `.js` file) that Deno runs, or, when
   * the backend was built with {@link IsolatorOptions.agentExecutable}, that
   * executable itself.
   */
  program: string;
  /** Arguments appended after the program and its layout argument. */
  args?: readonly string[];
  limits?: Partial<Limits>;
  /** The agent group's approved mounts (the process backend refuses any: it binds nothing). */
  mounts?: readonly SandboxMount[];
}

/** How a sandbox ended. */
export interface ExitStatus {
  code: number | null;
  signal?: string;
}

/** A running sandbox. */
export interface SandboxHandle {
  readonly sessionId: string;
  /** The agent's stdout and stderr (and the runtime's own errors). */
  readonly logPath: string;
  /** Settles once the sandbox is gone and its key copy removed. */
  readonly exited: Promise<ExitStatus>;
  alive(): Promise<boolean>;
  /** Kills the sandbox and removes what it left; safe to call more than once. */
  stop(): Promise<void>;
}

/** A sandbox backend. */
export interface Isolator {
  readonly kind: IsolatorKind;
  readonly strength: IsolationStrength;
  /** Whether this backend works here (a real smoke launch where that is cheap), and which walls it lacks. */
  check(): Promise<CheckResult>;
  launch(spec: LaunchSpec): Promise<SandboxHandle>;
}

/** Where a backend keeps its files. */
export interface IsolatorOptions {
  /** A private directory (made 0700) for bundles, runtime state and logs. */
  stateDir: string;
  /** A directory on tmpfs for key copies; default `/dev/shm/ironclaw-keys-<uid>`. */
  keyRoot?: string;
  /** The Deno binary `check()` smoke-runs in a sandbox; default `Deno.execPath()`. */
  denoPath?: string;
  /**
   * The compiled `ironclaw-agent` (a release): the backend runs it directly,
   * `<it> --layout=… <agent args>`, its permission flags baked in by `deno
   * compile`; no Deno binary, bundle or module cache enters the sandbox, and
   * `check()` smoke-runs this executable instead of Deno. Every launch spec's
   * `program` must name it. Absent (running from source): agents are bundles
   * that `deno run` runs with the contract's flags.
   */
  agentExecutable?: string;
}

/** How a backend runs agent programs: see {@link IsolatorOptions.agentExecutable}. */
export type AgentProgramKind = "bundle" | "executable";

/**
 * How a backend runs agents, with what that takes from the host: Deno and a
 * bundle it runs with the contract's flags (from source), or the compiled
 * agent executable with its flags baked in (a release).
 */
export type AgentRunner = { kind: "bundle"; denoPath: string } | { kind: "executable"; path: string };
