/**
 * MCP on the host: the catalog of servers a human registered, the offers and
 * pins of per-tool grants, the SDK client connections, and the per-session
 * broker (`mcp.sock`) through which sandboxes list and call granted tools.
 *
 * @example
 * ```ts ignore
 * const catalog = new McpCatalog(state);
 * const connections = new McpConnections((name) => catalog.get(name)?.config, {
 *   transports: mcpTransports({ allowHostProcess: true }),
 * });
 * const tools = await connections.listTools("sample");
 * ```
 *
 * @module
 */
export { McpCatalog, type McpServerEntry } from "./catalog.ts";
export {
  DEFAULT_MCP_RATE_LIMIT,
  McpBroker,
  type McpBrokerOptions,
  type McpCallRecord,
  resultText,
} from "./broker.ts";
export { MCP_AUDIT_FILE, type OpenMcpBroker, openMcpBroker } from "./open.ts";
export { McpPins } from "./pins.ts";
export { McpOffers, type McpOffersDeps } from "./offers.ts";
export {
  type GrantedTool,
  GrantedTools,
  type GrantedToolsDeps,
  type GrantedToolState,
  type UnreachableServer,
  type WithheldTool,
} from "./granted_tools.ts";
export { type ListedTool, offered, OfferedTool, toolHash } from "./offered_tools.ts";
export {
  DEFAULT_MCP_LIMITS,
  type McpCallResult,
  McpConnections,
  type McpLimits,
  type McpTransportOptions,
  type McpTransports,
  mcpTransports,
  McpUnavailable,
  registrationProblem,
  type StdioPlacement,
  stdioPlacement,
} from "./connections.ts";
export { SandboxedStdioTransport } from "./sandboxed_stdio.ts";

/** The agent group an `mcp_register` change names: the host's catalog, not an agent. */
export const MCP_CATALOG_TARGET = "host";
