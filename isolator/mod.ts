/**
 * Hardened sandboxes for session agents, behind one {@link Isolator}
 * interface with three backends: gVisor (`runsc`), Linux namespaces
 * (`bwrap`) and, for development only, a plain process.
 *
 * Every backend hands the session key over as a tmpfs file, runs the agent
 * with the contract's permission flags and tells it its layout with
 * `--layout=<json>`; the two sandboxes mount the session's paths at the
 * contract's `SANDBOX_LAYOUT` and run it as uid 65532. The flags go on
 * `deno run`'s command line for a bundle; a release's compiled agent
 * (`agentExecutable`) has them baked in and runs directly, in runsc or bwrap only.
 *
 * @module
 */
export type {
  AgentProgramKind,
  CheckResult,
  ExitStatus,
  IsolationStrength,
  Isolator,
  IsolatorKind,
  IsolatorOptions,
  KeySource,
  LaunchSpec,
  Limits,
  SandboxHandle,
  SandboxMount,
} from "./types.ts";
export { DEFAULT_LIMITS } from "./types.ts";
export { IsolatorUnavailableError, LaunchError } from "./errors.ts";
export { KeyRootError } from "./key.ts";
export { ociSeccompProfile, RUNSC_POLICY, UnsupportedArchError } from "./seccomp.ts";
export { LAYOUT_FLAG, SANDBOX_GID, SANDBOX_UID } from "./plan.ts";
export {
  RUNSC_SANDBOX_FLAGS,
  runscFlagArgs,
  RunscIsolator,
  type RunscOptions,
  type RunscPlatform,
  runscSessionInput,
} from "./runsc.ts";
export { BwrapIsolator, type BwrapOptions } from "./bwrap.ts";
export { ProcessIsolator } from "./process.ts";
export {
  KubernetesIsolator,
  type KubernetesOptions,
  loadKubeConfig,
  NoKubeconfigError,
  sandboxPod,
} from "./kubernetes/mod.ts";
export {
  type IsolatorPreference,
  isolators,
  type Selection,
  selectIsolator,
  type SelectOptions,
} from "./select.ts";
export {
  MODULE_INFO_CACHE,
  programCacheDir,
  SANDBOX_AGENT,
  SANDBOX_DENO,
  SANDBOX_ENV,
  SANDBOX_PROGRAM,
} from "./plan.ts";
export { ensurePrivateDir, exists, removeIfPresent } from "./host_dirs.ts";
export {
  createImage,
  DEFAULT_MEMORY_BYTES,
  DEFAULT_OUTBOX_BYTES,
  DEFAULT_WORKSPACE_BYTES,
  ensureVolume,
  imageMountedAt,
  MIN_VOLUME_BYTES,
  mountPointsUnder,
  mountsAt,
  mountTmpfs,
  releaseVolume,
  type Volume,
  volumesUnavailable,
} from "./volume.ts";
export { defaultKeyRoot, filesystemType } from "./key.ts";
export {
  type Attempt,
  MOUNT_WRITES,
  type ProbeReport,
  type ProbeTargets,
  releaseFileName,
  REPORT_FILE,
  TARGETS_FLAG,
} from "./probe/report.ts";
export {
  removeToolServerLeftovers,
  resolveCommand,
  TOOL_SERVER_HOME,
  toolServerBinds,
  type ToolServerKind,
  type ToolServerOptions,
  type ToolServerProcess,
  type ToolServerSandbox,
  toolServerSandbox,
  type ToolServerSpec,
} from "./tool_server.ts";
