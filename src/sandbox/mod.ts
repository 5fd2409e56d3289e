/**
 * The session manager's sandbox side: launching each session's agent under
 * the chosen isolator with its model-proxy socket and doorbell, stopping it,
 * ringing it, and respawning an agent group's sandboxes after a change.
 *
 * ```ts
 * import { ControlPlane } from "../control_plane/mod.ts";
 * import { GuardedWaker } from "../wake/mod.ts";
 * import { resolveLibraryPath } from "../../contract/sqlite/mod.ts";
 *
 * const stateDir = await Deno.makeTempDir();
 * const plane = await ControlPlane.open({ stateDir, dev: true, background: false });
 * // The plane wires these once; they are built from its parts like this:
 * const { registry, queues, proxy } = plane;
 * const choice = await chooseIsolator({ stateDir: `${stateDir}/isolator`, dev: true });
 * const manager = new SandboxManager({
 *   registry,
 *   queues,
 *   isolator: () => Promise.resolve(choice.isolator),
 *   proxy,
 *   onOutbound: (sessionId) => plane.delivery.notify(sessionId),
 *   root: `${stateDir}/sandbox`,
 *   library: resolveLibraryPath(),
 *   program: () => plane.agentProgram.path(),
 *   defaultProvider: "mock",
 * });
 * const waker = new GuardedWaker({ control: manager, backoff: plane.backoff, registry });
 * await manager.close();
 * await plane.close();
 * await Deno.remove(stateDir, { recursive: true });
 * ```
 *
 * @module
 */
export { SandboxManager, START_SLOT_CAP_MS } from "./manager.ts";
export type { BrokerSockets, ModelSockets, QueueSource, RespawnVia, SandboxManagerDeps } from "./manager.ts";
export { agentArgs, isProviderKind, LaunchSpecError } from "./agent_args.ts";
export { LaunchMountError, resolveLaunchMounts } from "./launch_mounts.ts";
export type { AgentArgOptions } from "./agent_args.ts";
export {
  AGENT_BUNDLE_NAME,
  AGENT_SOURCE,
  AgentBundleError,
  AgentProgram,
  bundleAgent,
} from "./agent_program.ts";
export type { AgentProgramOptions } from "./agent_program.ts";
export { chooseIsolator, givenIsolator, UnsandboxedRefusedError } from "./isolator_choice.ts";
export type { IsolatorChoice, IsolatorChoiceOptions } from "./isolator_choice.ts";
export { ensureSessionDirs, sessionDirs } from "./session_dirs.ts";
export type { SessionDirs } from "./session_dirs.ts";
export { groupVolumeDirs, outboxDir, workspaceStagingDir } from "./session_dirs.ts";
export {
  claimInto,
  ClaimSocket,
  makeSpareDirs,
  spareDirs,
  spareLaunchDirs,
  unexpectedEntries,
} from "./spares.ts";
export type { AdoptPair, SpareDirs } from "./spares.ts";
export { ensureGroupVolumes, GroupVolumes, type VolumeSizes } from "./group_volumes.ts";
export {
  DEFAULT_MAX_READ_BYTES,
  listWorkspace,
  readWorkspaceFile,
  type WorkspaceEntry,
  WorkspaceFileError,
  type WorkspaceListing,
} from "./workspace_files.ts";
export {
  AGENT_PROGRAM_ENV,
  chooseReleaseExecutable,
  prepareModuleInfo,
  type ReleaseExecutableOptions,
  type ReleaseProgram,
} from "./agent_program.ts";
