/**
 * The control plane's composition and its state directory.
 *
 * @module
 */
export { ControlPlane } from "./control_plane.ts";
export type { ControlPlaneOptions } from "./control_plane.ts";
export { defaultStateDir, LOCK_FILE, lockHolder, lockStateDir, StateDirBusyError } from "./state_dir.ts";
export { API_TOKEN_FILE, readClientToken, resolveApiToken } from "./api_token.ts";
export type { ApiToken } from "./api_token.ts";
export { CONSOLE_USER_ID, DEMO_AGENT_ID, seedDevDefaults } from "./seed.ts";
