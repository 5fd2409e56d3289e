/**
 * MCP servers: registering one (an `mcp_register` change, so a human approves
 * the command or URL), listing the catalog, asking a server what it offers,
 * removing one, and proposing a grant (`mcp_access`). A grant's proposal asks
 * the server for its tools at that moment and records them with the change,
 * so the approver sees each tool's description and input schema and the
 * approval pins exactly those.
 *
 * @module
 */
import { createRoute, z } from "@hono/zod-openapi";
import { McpAccessPayload, McpRegisterPayload } from "../../../contract/changes.ts";
import { AgentGroupId, ChangeId } from "../../../contract/ids.ts";
import { type ControlPlane, newWriteId } from "../../control_plane/mod.ts";
import { MCP_CATALOG_TARGET, McpUnavailable, OfferedTool } from "../../mcp/mod.ts";
import { routeGroup } from "../route_group.ts";
import { ApiError } from "../errors.ts";
import { errorAnswers, jsonAnswer, jsonBody } from "../openapi.ts";
import { Actor, ChangeRecord } from "../schemas.ts";
import { submitChange } from "./changes.ts";

const ServerName = McpRegisterPayload.shape.name;
const NameParam = z.object({ name: ServerName });

const ServerView = z.object({
  name: z.string(),
  transport: z.enum(["stdio", "http"]),
  command: z.string().optional(),
  args: z.array(z.string()).optional(),
  url: z.string().optional(),
  /** The names of the environment variables it gets (values never shown). */
  envNames: z.array(z.string()),
  /** Variables set from vault secrets at each start: variable → secret name (the value stays in the vault). */
  envSecrets: z.record(z.string(), z.string()),
  /** Host paths a stdio server's sandbox holds read-only, besides its program's directory. */
  paths: z.array(z.string()),
  description: z.string().optional(),
  changeId: z.string(),
  registeredAt: z.string(),
}).openapi("McpServer");

const ToolsView = z.object({ server: z.string(), tools: z.array(OfferedTool) }).openapi("McpTools");

const list = createRoute({
  method: "get",
  path: "/v1/mcp/servers",
  summary: "The MCP servers a human registered (environment values never shown)",
  responses: { 200: jsonAnswer(z.array(ServerView), "servers by name"), ...errorAnswers() },
});

const register = createRoute({
  method: "post",
  path: "/v1/mcp/servers",
  summary: "Propose registering an MCP server (an mcp_register change; a human approves it)",
  request: {
    body: jsonBody(
      z.strictObject({ server: McpRegisterPayload, requestedBy: Actor }).openapi("McpRegisterInput"),
    ),
  },
  responses: { 202: jsonAnswer(ChangeRecord, "recorded"), ...errorAnswers(400, 409, 413, 415) },
});

const tools = createRoute({
  method: "get",
  path: "/v1/mcp/servers/{name}/tools",
  summary: "What the server offers now: each tool's description, input schema and hash",
  request: { params: NameParam },
  responses: { 200: jsonAnswer(ToolsView, "the tools"), ...errorAnswers(400, 404, 502) },
});

const remove = createRoute({
  method: "delete",
  path: "/v1/mcp/servers/{name}",
  summary: "Remove a server from the catalog (its grants then reach nothing)",
  request: { params: NameParam },
  responses: { 200: jsonAnswer(z.object({ name: z.string() }), "removed"), ...errorAnswers(400, 404) },
});

const grant = createRoute({
  method: "post",
  path: "/v1/mcp/servers/{name}/grants",
  summary:
    "Propose granting an agent some (or all) of the server's tools, as offered now (an mcp_access change)",
  request: {
    params: NameParam,
    body: jsonBody(
      z.strictObject({
        agentGroupId: AgentGroupId,
        tools: McpAccessPayload.shape.tools,
        requestedBy: Actor,
      }).openapi("McpGrantInput"),
    ),
  },
  responses: { 202: jsonAnswer(ChangeRecord, "recorded"), ...errorAnswers(400, 404, 413, 415, 502) },
});

const offer = createRoute({
  method: "get",
  path: "/v1/mcp/offers/{id}",
  summary: "The tools an mcp_access change showed its approver (description, schema, pinned hash)",
  request: { params: z.object({ id: ChangeId }) },
  responses: { 200: jsonAnswer(ToolsView, "the tools shown"), ...errorAnswers(400, 404) },
});

const GrantsView = z.object({
  agentGroupId: z.string(),
  tools: z.array(z.object({
    server: z.string(),
    tool: z.string(),
    state: z.enum(["live", "withheld", "gone"]),
    description: z.string().optional(),
  })),
  unreachable: z.array(z.object({ server: z.string(), error: z.string() })),
}).openapi("McpGrants");

const grants = createRoute({
  method: "get",
  path: "/v1/mcp/grants/{id}",
  summary: "An agent's granted MCP tools: live, withheld (changed since approval) or gone",
  request: { params: z.object({ id: AgentGroupId }) },
  responses: { 200: jsonAnswer(GrantsView, "the granted tools"), ...errorAnswers(400, 404) },
});

/** What the server offers now, or a 502 that says why not. */
async function offeredNow(plane: ControlPlane, name: string) {
  if (!plane.mcpCatalog.has(name)) {
    throw new ApiError(
      404,
      `no MCP server ${name} (see: ironclaw mcp list; register with: ironclaw mcp add)`,
    );
  }
  try {
    return await plane.mcp.listTools(name);
  } catch (err) {
    if (err instanceof McpUnavailable) throw new ApiError(502, err.message);
    throw err;
  }
}

/** The MCP routes. */
export function mcpRoutes(plane: ControlPlane) {
  return routeGroup()
    .openapi(list, (c) =>
      c.json(
        plane.mcpCatalog.list().map(({ config, changeId, registeredAt }) => ({
          name: config.name,
          transport: config.transport,
          command: config.command,
          args: config.args,
          url: config.url,
          envNames: Object.keys({ ...config.env, ...config.envSecrets }).sort(),
          envSecrets: config.envSecrets ?? {},
          paths: config.paths ?? [],
          description: config.description,
          changeId,
          registeredAt,
        })),
        200,
      ))
    .openapi(register, async (c) => {
      const { server, requestedBy } = c.req.valid("json");
      const record = await submitChange(plane, {
        kind: "mcp_register",
        agentGroupId: MCP_CATALOG_TARGET as AgentGroupId,
        requestedBy,
        after: server,
      });
      return c.json(record, 202);
    })
    .openapi(tools, async (c) => {
      const { name } = c.req.valid("param");
      return c.json({ server: name, tools: await offeredNow(plane, name) }, 200);
    })
    .openapi(remove, async (c) => {
      const { name } = c.req.valid("param");
      if (!plane.mcpCatalog.remove(name)) throw new ApiError(404, `no MCP server ${name}`);
      await plane.mcp.invalidate(name);
      await plane.audit.append({ stage: "registry", changeId: newWriteId(), detail: `mcp remove ${name}` });
      return c.json({ name }, 200);
    })
    .openapi(grant, async (c) => {
      const { name } = c.req.valid("param");
      const { agentGroupId, tools, requestedBy } = c.req.valid("json");
      // The gateway's mcp verifier records what the approver sees (and the approval pins): the tools as offered now.
      const record = await submitChange(plane, {
        kind: "mcp_access",
        agentGroupId,
        requestedBy,
        after: tools && tools.length > 0 ? { server: name, tools } : { server: name },
      });
      return c.json(record, 202);
    })
    .openapi(grants, async (c) => {
      const { id } = c.req.valid("param");
      if (!plane.registry.hasAgentGroup(id)) {
        throw new ApiError(404, `agent group ${JSON.stringify(id)} not found`);
      }
      const { tools, unreachable } = await plane.mcpGrants.resolve(id);
      return c.json({
        agentGroupId: id,
        tools: tools.map((t) => ({
          server: t.server,
          tool: t.tool,
          state: t.state,
          description: t.offered?.description,
        })),
        unreachable,
      }, 200);
    })
    .openapi(offer, (c) => {
      const shown = plane.mcpPins.offer(c.req.valid("param").id);
      if (!shown) throw new ApiError(404, "that change recorded no MCP tools");
      return c.json({ server: shown.server, tools: shown.tools }, 200);
    });
}
