/**
 * What the host and the adversarial probe exchange: the targets the host
 * hands the probe on its command line, and the report the probe writes to
 * its outbound directory. The host treats the report as a claim only: every
 * wall is decided from what the host itself observes (see `src/verify/`).
 *
 * @module
 */

/** A server's tool. */
export interface McpToolRef {
  server: string;
  tool: string;
}

/** The argument that carries the {@link ProbeTargets} as JSON. */
export const TARGETS_FLAG = "--targets";

/** The report's file name in the probe's outbound directory (written aside, then renamed). */
export const REPORT_FILE = "probe-report.json";

/** The file the host creates in the inbound directory to let the probe finish. */
export function releaseFileName(nonce: string): string {
  return `release-${nonce}`;
}

/** Everything the host asks the probe to attack; paths are as the host sees them. */
export interface ProbeTargets {
  /** Random per run; names every marker file the probe may leave. */
  nonce: string;
  /** The environment variable the host planted a random secret in (the value is never passed). */
  canaryName: string;
  /** Loopback TCP listeners of the host, one per attempt so each attempt has its own evidence. */
  tcp: { fetch: number; denoConnect: number; libcConnect: number; afterRequest: number };
  /** Loopback UDP sockets of the host: a plain datagram target and a fake DNS server. */
  udp: { datagram: number; dns: number };
  /** The host's pid (the verify process). */
  hostPid: number;
  /** Host processes the probe tries to kill and to ptrace. */
  victims: { kill: number; ptrace: number };
  /** Host files the probe must not read (secrets of the host and of another session). */
  readTargets: string[];
  /** Programs the probe tries to start through libc, in order, until one exists. */
  spawnCandidates: string[];
  /**
   * The program file the sandbox started, as the probe sees it, for the
   * write attempts against it: the compiled probe at its fixed path, whose
   * `Deno.mainModule` names a file inside the binary. Absent: the bundle
   * Deno runs (`Deno.mainModule`).
   */
  program?: string;
  /** How many threads the probe tries to hold (above the pids limit). */
  threadCap: number;
  /** Bytes the probe writes to /tmp and to its workspace at most. */
  tmpCapBytes: number;
  workspaceCapBytes: number;
  /** Bytes the probe allocates at most (above the memory limit). */
  memoryCapBytes: number;
  /**
   * Another session's model proxy: the host path of its socket, its session
   * and agent group ids (for the probe to claim as its own identity on its
   * own socket).
   */
  modelProxy: { decoySocket: string; decoySession: string; decoyAgentGroup: string };
  /**
   * The session's egress broker: URLs that must never be fetched (every
   * spelling of the host's loopback listener, and a name the host's resolver
   * answers with loopback), and a URL whose requests carry a vault secret the
   * probe must not learn (its server echoes the request's headers).
   */
  egress?: { ssrfUrls: string[]; secretEchoUrl: string };
  /**
   * The session's MCP broker: the one tool the probe's group was granted
   * (called as a control), and tools it must neither see listed nor call (an
   * ungranted tool, a granted one changed since approval, another server's).
   */
  mcp?: { granted: McpToolRef; refused: McpToolRef[] };
  /** How long the probe waits for the release file before finishing anyway. */
  holdMs: number;
  /**
   * The `out-disk` attack: every path the probe fills, file by file, until a
   * write fails or `bytesPerPath` are written (the sandbox's writable mounts
   * as the host knows them; the probe adds every read-write mount it finds
   * in its own mount table). Each filler file is removed again before the
   * next path, so its report can still be written.
   */
  diskFill?: { paths: string[]; bytesPerPath: number };
  /**
   * The mount walls: a read-only mount at `path` (as the probe sees it) whose
   * `file` it reads as a control and then tries to change every way it can,
   * and `escapes`, the paths by which it tries to read a host secret kept
   * beside the mount's directory (`..`, symlinks the host planted in the
   * directory, `/proc/self/root`): none of them may lead there.
   */
  mount?: { path: string; file: string; escapes: string[] };
  /**
   * Run as a warm spare instead (the `spare-*` walls): the probe, launched
   * with no key and empty directories, looks for anything of a conversation
   * and reads `readTargets` (another session's queue files and key), then
   * takes its claim on `claim.sock` (writing nothing before it, as a spare
   * must not), reads its own inbound queue as a control and `readTargets`
   * again, and reports. Nothing else is attacked in that run.
   */
  spare?: { readTargets: string[] };
}

/** The probe's attempts to change a read-only mount, each `mount.write.<id>` (the host expects every one). */
export const MOUNT_WRITES = [
  "deno_append",
  "deno_truncate",
  "deno_create",
  "deno_mkdir",
  "deno_rename",
  "deno_symlink",
  "libc_append",
  "libc_create",
  "libc_chmod",
  "libc_unlink",
] as const;

/** The probe's attempt id of filling `path` (the `out-disk` wall). */
export function diskFillAttempt(path: string): string {
  return `disk.fill:${path}`;
}

/** One attempt: `succeeded` means the probe got through (a wall did not stop it). */
export interface Attempt {
  id: string;
  succeeded: boolean;
  detail: string;
  data?: Record<string, unknown>;
}

/** The probe's report. */
export interface ProbeReport {
  nonce: string;
  /** The attempt in progress when the report was written (`done` at the end). */
  phase: string;
  /** The probe's pid as it sees itself (its own pid namespace). */
  pid: number;
  /** Its uid as libc reports it. */
  uid: number;
  attempts: Attempt[];
}
