/**
 * The agent's compiled tool set, named once: the sandbox registers these,
 * and the host validates enabled-tools changes, templates and create_agent
 * payloads against them.
 *
 * @module
 */
import { z } from "zod";

/** Every built-in tool of the sandbox agent. */
export const ToolName = z.enum([
  "read_file",
  "write_file",
  "list_dir",
  "send_message",
  "send_file",
  "list_destinations",
  "schedule_task",
  "list_tasks",
  "cancel_task",
  "pause_task",
  "resume_task",
  "update_task",
  "ask_user_question",
  "request_capability_change",
  "request_api_access",
  "read_persona",
  "create_agent",
  "http_fetch",
  "web_search",
]);
export type ToolName = z.infer<typeof ToolName>;

/** Tools present whatever the enabled-tools list says: the agent can always ask. */
export const MANDATORY_TOOLS: readonly ToolName[] = ["request_capability_change", "ask_user_question"];

/**
 * What a new agent gets when nobody chose its tools: replying and its own
 * workspace files (asking a human and requesting a capability change are
 * always there). Anything more is asked for and approved.
 */
export const LEAST_PRIVILEGE_TOOLS: readonly ToolName[] = [
  "send_message",
  "read_file",
  "write_file",
  "list_dir",
];

/** Names no tool may take: self-modification stays impossible by construction. */
export const FORBIDDEN_TOOL_NAMES: readonly string[] = [
  "install_packages",
  "install_package",
  "add_mcp_server",
  "remove_mcp_server",
  "self_edit",
  "edit_self",
  "edit_source",
  "set_persona",
  "set_permissions",
];

/**
 * The tools a sandbox runs with: all of them when `enabled` is empty,
 * otherwise the known names listed plus the mandatory ones, in catalog order.
 */
export function effectiveTools(enabled: readonly string[]): ToolName[] {
  if (enabled.length === 0) return [...ToolName.options];
  const wanted = new Set([...enabled, ...MANDATORY_TOOLS]);
  return ToolName.options.filter((t) => wanted.has(t));
}
