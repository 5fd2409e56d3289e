/**
 * How delivery treats each system action a sandbox writes. Scheduling,
 * questions and task management are handled by the host for the session;
 * a few informational actions are no-ops; everything else is privileged and
 * becomes a gateway change request: never executed here, and an unknown
 * action is privileged too.
 *
 * @module
 */
import { type ChangeKind, type JsonValue, parseSystemAction, TaskAction } from "../../contract/mod.ts";

/** The route of one action. */
export type ActionRoute =
  | { type: "schedule" }
  | { type: "ask" }
  | { type: "task"; action: TaskAction }
  | { type: "informational" }
  | { type: "privileged"; kind: ChangeKind };

const PRIVILEGED: Record<string, ChangeKind> = {
  set_persona: "persona",
  persona: "persona",
  set_enabled_tools: "enabled_tools",
  enabled_tools: "enabled_tools",
  install_packages: "packages",
  packages: "packages",
  add_package: "packages",
  set_wiring: "wiring",
  wiring: "wiring",
  set_permissions: "permissions",
  permissions: "permissions",
  grant_role: "permissions",
  add_member: "permissions",
  add_mount: "mounts",
  mounts: "mounts",
  set_mounts: "mounts",
  create_agent: "create_agent",
  mcp_access: "mcp_access",
  grant_mcp: "mcp_access",
  set_mcp_access: "mcp_access",
  mcp_register: "mcp_register",
  add_mcp_server: "mcp_register",
  register_mcp: "mcp_register",
};

const INFORMATIONAL = new Set(["typing", "presence", "ack", "noop", ""]);

/** The route of an action name (lower-cased, trimmed). Anything unrecognised is a `permissions` change. */
export function routeAction(name: string): ActionRoute {
  const action = name.trim().toLowerCase();
  if (action === "schedule_task" || action === "schedule") return { type: "schedule" };
  if (action === "ask_user_question") return { type: "ask" };
  const task = TaskAction.safeParse(action);
  if (task.success) return { type: "task", action: task.data };
  if (INFORMATIONAL.has(action)) return { type: "informational" };
  return { type: "privileged", kind: PRIVILEGED[action] ?? "permissions" };
}

/**
 * The `after` of a change proposed by a system-action body: the envelope's
 * payload when it has one, else the whole body when it is a JSON object,
 * else the body as a JSON string.
 */
export function extractAfter(body: string): JsonValue {
  const envelope = parseSystemAction(body);
  if (envelope.payload !== undefined) return envelope.payload as JsonValue;
  try {
    const value = JSON.parse(body);
    if (value && typeof value === "object" && !Array.isArray(value)) return value as JsonValue;
  } catch { /* not JSON */ }
  return body;
}

/** The `reason` a system-action body states for its change, when it states one. */
export function statedReason(body: string): string | undefined {
  return parseSystemAction(body).reason;
}
