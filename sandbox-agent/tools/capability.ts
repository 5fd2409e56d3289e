/**
 * Requests for capabilities the agent cannot grant itself. Each payload is
 * checked against the contract's schema for its kind before it leaves, so
 * the model gets an error it can fix instead of a request the host rejects.
 * Whatever leaves is only a proposal: a human decides at the host's gateway.
 *
 * @module
 */
import { z } from "zod";
import { formatSystemAction } from "../../contract/actions.ts";
import { CHANGE_PAYLOADS, CreateAgentPayload } from "../../contract/changes.ts";
import { ChangeKind } from "../../contract/enums.ts";
import { defineTool, type Tool, ToolError } from "./tool.ts";

/** Kinds `request_capability_change` proposes; a new agent has its own tool. */
// A vault grant is the operator's to propose (`ironclaw vault grant`): an agent cannot ask for a secret.
export const RequestableKind = ChangeKind.exclude([
  "create_agent",
  "vault_grant",
  "budget",
  "packages",
  "delete_agent",
]);
export type RequestableKind = z.infer<typeof RequestableKind>;

const SUBMITTED = "submitted for human approval";
const PENDING = `${SUBMITTED}; if approved it takes effect from the next message`;
const Reason = z.string().trim().max(1000).optional().describe("why, in a sentence the approver will read");

/** Checks `payload` against its kind's schema; the error shows the issues and the expected shape. */
export function validatePayload(kind: RequestableKind, payload: unknown): unknown {
  const schema = CHANGE_PAYLOADS[kind];
  const parsed = schema.safeParse(payload);
  if (parsed.success) return parsed.data;
  const { $schema: _, ...shape } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" });
  throw new ToolError(
    `payload does not fit kind ${kind}:\n${z.prettifyError(parsed.error)}\nexpected JSON Schema: ${
      JSON.stringify(shape)
    }`,
  );
}

/** `request_capability_change`: any change kind but create_agent. */
export const requestCapabilityChange: Tool = defineTool({
  name: "request_capability_change",
  description: [
    "Ask a human to change what you can do. Use it instead of refusing when you lack a capability.",
    "Payload by kind:",
    '- enabled_tools: {"add":["list_dir"]} adds tools; {"tools":[...]} replaces the set',
    '- wiring: {"egress":["api.example.com"]} for network access (request_api_access is simpler)',
    '- persona: {"instructions":"..."} (also "identity", "soul")',
    '- mounts: [{"source":"/absolute/host/path","name":"docs"}] shows it read-only at /mounts/docs ("readonly":false asks for read-write)',
    '- permissions: {"addMembers":["slack:alice"]} or {"grantRoles":[{"userId":"slack:alice","role":"admin"}]}',
    '- mcp_access: {"server":"name","tools":["tool"]} (omit tools for all)',
    '- mcp_register: {"name":"x","transport":"http","url":"https://..."} or {"name":"x","transport":"stdio","command":"..."}',
  ].join("\n"),
  input: z.strictObject({
    kind: RequestableKind,
    payload: z.unknown().describe("the change, shaped for its kind (see the description)"),
    reason: Reason,
  }),
  invoke({ kind, payload, reason }) {
    const checked = validatePayload(kind, typeof payload === "string" ? parseJson(payload) : payload);
    return {
      text: `${kind} change ${PENDING}`,
      action: formatSystemAction({ action: kind, payload: checked, reason }),
    };
  },
});

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ToolError("payload is a string that is not JSON; send the payload as a JSON object or array");
  }
}

/**
 * Normalises host names: lower case, no scheme, nothing after `/`, `?` or
 * `#`, no blanks or duplicates. Spaces, wildcards and `..` are refused.
 */
export function normalizeHosts(hosts: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of hosts) {
    const trimmed = raw.trim().toLowerCase();
    if (trimmed === "") continue;
    if (/[\s*]/.test(trimmed) || trimmed.includes("..")) {
      throw new ToolError(`not a host name: ${JSON.stringify(raw)}`);
    }
    const host = trimmed.replace(/^[a-z][a-z0-9+.-]*:\/\//, "").split(/[/?#]/)[0];
    if (host !== "" && !out.includes(host)) out.push(host);
  }
  if (out.length === 0) throw new ToolError("name at least one host");
  return out;
}

/** `request_api_access`: a wiring change granting HTTPS egress to hosts. */
export const requestApiAccess: Tool = defineTool({
  name: "request_api_access",
  description:
    "Ask a human to let you reach web hosts with http_fetch. Name bare hosts such as api.github.com.",
  input: z.strictObject({ hosts: z.array(z.string()).min(1), reason: Reason }),
  invoke({ hosts, reason }) {
    const payload = validatePayload("wiring", { egress: normalizeHosts(hosts) });
    return {
      text: `access to ${(payload as { egress: string[] }).egress.join(", ")} ${PENDING}`,
      action: formatSystemAction({ action: "wiring", payload, reason }),
    };
  },
});

/** `create_agent`: a new agent group, created only if a human approves. */
export const createAgent: Tool = defineTool({
  name: "create_agent",
  description:
    "Ask a human to create a new agent (its own persona, tools and wirings). It starts with nothing you have.",
  input: CreateAgentPayload.extend({ reason: Reason }),
  invoke({ reason, ...payload }) {
    return {
      text: `request to create agent ${payload.name} ${SUBMITTED}`,
      action: formatSystemAction({ action: "create_agent", payload, reason }),
    };
  },
});
