/**
 * Read models for the web console: each joins what one panel shows, so the
 * console makes one request per panel. The config editor's writes still go
 * through the gateway.
 *
 * @module
 */
import { createRoute, z } from "@hono/zod-openapi";
import { AgentGroupId, ChangeKind, PersonaDocs, ToolName } from "../../../contract/mod.ts";
import { PERSONA_SECTIONS, TEMPLATES, toolCatalog } from "../../catalog/mod.ts";
import type { ControlPlane } from "../../control_plane/mod.ts";
import { AgentGroup, ContainerStatus, MessagingGroup } from "../../registry/mod.ts";
import { routeGroup } from "../route_group.ts";
import { errorAnswers, jsonAnswer } from "../openapi.ts";
import { ChangeRecord, ConfigChangeBody } from "../schemas.ts";
import { auditTailRoute } from "./audit.ts";
import { submitChange, submitRoute } from "./changes.ts";

const AgentView = z.object({
  id: AgentGroupId,
  name: z.string(),
  folder: z.string(),
  provider: z.string().nullable(),
  model: z.string().nullable(),
  /** The allowlist; null allows every built-in tool. */
  tools: z.array(z.string()).nullable(),
  sessions: z.number().int(),
  destinations: z.number().int(),
});

const ApprovalView = z.object({
  id: z.string(),
  kind: ChangeKind,
  agentGroupId: z.string(),
  agentGroupName: z.string().nullable(),
  requestedBy: z.string(),
  createdAt: z.string(),
  reason: z.string().nullable(),
  before: ChangeRecord.shape.request.shape.before,
  after: ChangeRecord.shape.request.shape.after,
});

const ToolView = z.object({
  name: ToolName,
  title: z.string(),
  description: z.string(),
  category: z.string(),
  mandatory: z.boolean(),
});

const TemplateView = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  personaDocs: PersonaDocs,
  tools: z.array(ToolName),
});

const PersonaSectionView = z.object({
  key: z.string(),
  title: z.string(),
  filename: z.string(),
  help: z.string(),
});

const MessagingGroupView = MessagingGroup.extend({ wirings: z.number().int() });

const SessionView = z.object({
  id: z.string(),
  agentGroupId: z.string(),
  agentGroupName: z.string().nullable(),
  messagingGroupId: z.string(),
  containerStatus: ContainerStatus,
  lastActive: z.string(),
});

const ConfigView = z.object({ agentGroup: AgentGroup, appliedChanges: z.array(ChangeRecord) });

/** A GET route answering `schema`. */
function view<P extends string, S extends z.ZodType>(path: P, summary: string, schema: S) {
  return createRoute({
    method: "get",
    path,
    summary,
    responses: { 200: jsonAnswer(schema, summary), ...errorAnswers() },
  });
}

const config = createRoute({
  method: "get",
  path: "/v1/ui/config/{agentGroupId}",
  summary: "An agent with the changes applied to it, oldest first",
  request: { params: z.object({ agentGroupId: AgentGroupId }) },
  responses: { 200: jsonAnswer(ConfigView, "the agent and its applied changes"), ...errorAnswers(400, 404) },
});

const configChange = submitRoute(
  "/v1/ui/config/change",
  ConfigChangeBody,
  "Proposes a configuration change through the gateway",
);

/** The console's views. */
export function uiRoutes(plane: ControlPlane) {
  const { registry, gateway } = plane;
  const groupName = (id: string) => registry.hasAgentGroup(id) ? registry.getAgentGroup(id).name : null;
  return routeGroup()
    .openapi(view("/v1/ui/agents", "Agents for the picker", z.array(AgentView)), (c) =>
      c.json(
        registry.listAgentGroups().map((g) => ({
          id: g.id,
          name: g.name,
          folder: g.folder,
          provider: g.provider,
          model: g.model,
          tools: g.enabledTools,
          sessions: registry.listSessions(g.id).length,
          destinations: registry.listDestinations(g.id).length,
        })),
        200,
      ))
    .openapi(
      view("/v1/ui/approvals", "The approvals inbox, oldest first", z.array(ApprovalView)),
      (c) =>
        c.json(
          gateway.pending().map(({ request: r, reason }) => ({
            id: r.id,
            kind: r.kind,
            agentGroupId: r.agentGroupId,
            agentGroupName: groupName(r.agentGroupId),
            requestedBy: r.requestedBy,
            createdAt: r.createdAt,
            reason: reason ?? null,
            before: r.before,
            after: r.after,
          })),
          200,
        ),
    )
    .openapi(
      auditTailRoute("/v1/ui/audit", 200),
      async (c) => c.json(await plane.audit.tail(c.req.valid("query").limit), 200),
    )
    .openapi(
      view("/v1/ui/tools", "The built-in tool catalog", z.array(ToolView)),
      (c) => c.json(toolCatalog(), 200),
    )
    .openapi(view("/v1/ui/templates", "The starter templates", z.array(TemplateView)), (c) =>
      c.json(
        TEMPLATES.map(({ id, name, description, personaDocs, tools }) => ({
          id,
          name,
          description,
          personaDocs,
          tools,
        })),
        200,
      ))
    .openapi(
      view("/v1/ui/persona-sections", "The persona documents", z.array(PersonaSectionView)),
      (c) => c.json(PERSONA_SECTIONS.map((s) => ({ ...s })), 200),
    )
    .openapi(
      view("/v1/ui/messaging-groups", "Chats with their wiring counts", z.array(MessagingGroupView)),
      (c) =>
        c.json(
          registry.listMessagingGroups().map((m) => ({
            ...m,
            wirings: registry.listWiringsForMessagingGroup(m.id).length,
          })),
          200,
        ),
    )
    .openapi(
      view("/v1/ui/sessions", "Sessions, most recently active first", z.array(SessionView)),
      (c) =>
        c.json(
          registry.listSessions().map((s) => ({
            id: s.id,
            agentGroupId: s.agentGroupId,
            agentGroupName: groupName(s.agentGroupId),
            messagingGroupId: s.messagingGroupId,
            containerStatus: s.containerStatus,
            lastActive: s.lastActive,
          })),
          200,
        ),
    )
    .openapi(config, (c) => {
      const { agentGroupId } = c.req.valid("param");
      const agentGroup = registry.getAgentGroup(agentGroupId);
      const appliedChanges = gateway.history().filter((r) =>
        r.status === "applied" && r.request.agentGroupId === agentGroupId
      );
      return c.json({ agentGroup, appliedChanges }, 200);
    })
    .openapi(configChange, async (c) => c.json(await submitChange(plane, c.req.valid("json")), 202));
}
