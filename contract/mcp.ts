/**
 * The MCP broker's wire: what the agent sends over the session's `mcp.sock`
 * to list the MCP tools its agent group was granted and to call one, and
 * what comes back. The host holds the connections to the servers and checks
 * the grant and the pin on every call; the agent sends JSON and receives
 * text, never a server's address or secret.
 *
 * @module
 */
import { z } from "zod";

/** The host name the agent addresses the broker by (the socket, not the name, is what reaches it). */
export const MCP_BROKER_HOST = "mcp.ironclaw.internal";

/** `GET /v1/tools`: the granted tools that are live now. */
export const MCP_TOOLS_PATH = "/v1/tools";
/** `POST /v1/call`: one call of a granted tool. */
export const MCP_CALL_PATH = "/v1/call";

/** One granted tool as the server offers it now (and as a human approved it). */
export const McpBrokerTool = z.object({
  server: z.string(),
  tool: z.string(),
  description: z.string(),
  /** The server's JSON Schema of the tool's input. */
  inputSchema: z.record(z.string(), z.unknown()),
});
export type McpBrokerTool = z.infer<typeof McpBrokerTool>;

/**
 * What `GET /v1/tools` answers: live tools, servers that could not be asked
 * (their tools are left out), and how many servers the agent group is
 * granted at all.
 *
 * With `grantedServers: 0` the answer depends on nothing but the grants, and
 * any change of a group's grants restarts its sandboxes (`mcp_access` is a
 * respawn kind; a registry edit of `mcpGrants` changes the launch), so the
 * agent keeps it for its life instead of asking at every answer. With grants,
 * the answer also depends on the servers' live state (a tool changed and so
 * withheld, a server down): the agent asks again at every answer. Absent (a
 * host from before 2026-12-07): asked at every answer.
 */
export const McpToolList = z.object({
  tools: z.array(McpBrokerTool),
  unavailable: z.array(z.object({ server: z.string(), error: z.string() })),
  grantedServers: z.number().int().nonnegative().optional(),
});
export type McpToolList = z.infer<typeof McpToolList>;

/** The body of `POST /v1/call`. */
export const McpCallRequest = z.strictObject({
  server: z.string().max(64),
  tool: z.string().max(128),
  arguments: z.record(z.string(), z.unknown()),
});
export type McpCallRequest = z.infer<typeof McpCallRequest>;

/**
 * What `POST /v1/call` answers when the server answered: its content as
 * text (non-text parts described, not passed on), and whether the server
 * called it an error. Either way the text is the server's, not the host's.
 */
export const McpCallAnswer = z.object({ text: z.string(), isError: z.boolean() });
export type McpCallAnswer = z.infer<typeof McpCallAnswer>;

/** Any refusal or failure: `{error}` with a non-2xx status; the message is one line for the agent. */
export const McpBrokerError = z.object({ error: z.string() });

/**
 * The name the model knows a granted tool by: `mcp__<server>__<tool>`, with
 * `-` and `.` as `_` (tool names are lower_snake_case). Undefined when the
 * result is not a usable tool name (upper case, other characters, too long):
 * such a tool is not offered to the model.
 */
export function mcpToolName(server: string, tool: string): string | undefined {
  const name = `mcp__${server}__${tool}`.replace(/[-.]/g, "_");
  return /^[a-z][a-z0-9_]{0,63}$/.test(name) ? name : undefined;
}
