/**
 * The control plane's composition and its state directory. The plane and
 * every test harness build the host from the same pieces: {@link openStores}
 * (the durable stores) and {@link wireFlow} (the message path), which the
 * harness gives fakes of the outside world only.
 *
 * @module
 */
export { ControlPlane } from "./control_plane.ts";
export type { ControlPlaneOptions } from "./control_plane.ts";
export { openStores } from "./stores.ts";
export type { Stores, StoresOptions } from "./stores.ts";
export { wireFlow } from "./flow.ts";
export type { Flow, FlowOptions, Loop, SandboxContext, SandboxSide } from "./flow.ts";
export { defaultStateDir, LOCK_FILE, lockHolder, lockStateDir, StateDirBusyError } from "./state_dir.ts";
export { API_TOKEN_FILE, readClientToken, resolveApiToken } from "./api_token.ts";
export type { ApiToken } from "./api_token.ts";
export { CONSOLE_USER_ID, DEMO_AGENT_ID, seedDevDefaults } from "./seed.ts";
export { planeKeyRoots } from "./leftovers.ts";
export {
  MODEL_CONFIG_FILE,
  MODEL_PROVIDERS,
  ModelConfig,
  modelKeyEnv,
  modelProxyOptions,
  providerHost,
  readModelConfig,
  writeModelConfig,
} from "./model_config.ts";
export { newWriteId } from "./registry_edits.ts";
