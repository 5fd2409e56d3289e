/**
 * The agent's tools: the registry and its rules, the workspace jail, and
 * every built-in tool.
 *
 * @module
 */
export * from "./tool.ts";
export { ToolRegistry } from "./registry.ts";
// The naming rules are the contract's: the host's verifiers apply the same lists.
export { FORBIDDEN_TOOL_NAMES, MANDATORY_TOOLS } from "../../contract/tools.ts";
export type { ToolCallResult } from "./registry.ts";
export { Jail, MAX_FILE_BYTES } from "./jail.ts";
export type { DirEntry, JailOptions } from "./jail.ts";
export { type MountInfo, Mounts } from "./mounts.ts";
export { BUILTIN_TOOLS, builtinRegistry } from "./builtin.ts";
export { normalizeHosts, RequestableKind, validatePayload } from "./capability.ts";
export { AGENT_CHANNEL, CURRENT_CONVERSATION_ALIASES, resolveTarget } from "./messaging.ts";
export { McpTools, type McpToolSet } from "./mcp.ts";
export { untrustedOutput } from "./untrusted.ts";
