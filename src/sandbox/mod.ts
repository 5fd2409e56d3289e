/**
 * The session manager's sandbox side: launching each session's agent under
 * the chosen isolator with its model-proxy socket and doorbell, stopping it,
 * ringing it, and respawning an agent group's sandboxes after a change.
 *
 * ```ts
 * const choice = await chooseIsolator({ stateDir: `${stateDir}/isolator`, dev });
 * const manager = new SandboxManager({ registry, queues, isolator: choice.isolator, proxy, ... });
 * const waker = new GuardedWaker({ control: manager, backoff, registry });
 * ```
 *
 * @module
 */
export { SandboxManager } from "./manager.ts";
export type { ModelSockets, QueueSource, RespawnVia, SandboxManagerDeps } from "./manager.ts";
export { agentArgs, isProviderKind, LaunchSpecError } from "./agent_args.ts";
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
export { ensureSessionDirs, HEARTBEAT_FILE, heartbeatPath, sessionDirs } from "./session_dirs.ts";
export type { SessionDirs } from "./session_dirs.ts";
