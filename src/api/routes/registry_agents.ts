/**
 * Operator-direct agent groups and the sessions that run them. These bypass
 * the gateway: the bearer token is the operator's.
 *
 * @module
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { ControlPlane } from "../../control_plane/mod.ts";
import { AgentGroup, Session } from "../../registry/mod.ts";
import { routeGroup } from "../route_group.ts";
import { referencing } from "../errors.ts";
import { errorAnswers, jsonAnswer, jsonBody } from "../openapi.ts";
import { AgentGroupBody, AgentGroupIdParam, SessionIdParam, SessionsQuery } from "../schemas.ts";

const list = createRoute({
  method: "get",
  path: "/v1/registry/agent-groups",
  summary: "Every agent group, by id",
  responses: { 200: jsonAnswer(z.array(AgentGroup), "agent groups"), ...errorAnswers() },
});

const put = createRoute({
  method: "put",
  path: "/v1/registry/agent-groups/{id}",
  summary: "Creates or updates an agent group (omitted fields keep their values; the path id wins)",
  request: { params: AgentGroupIdParam, body: jsonBody(AgentGroupBody) },
  responses: {
    200: jsonAnswer(AgentGroup, "the stored agent group"),
    ...errorAnswers(400, 409, 413, 415),
  },
});

const get = createRoute({
  method: "get",
  path: "/v1/registry/agent-groups/{id}",
  summary: "One agent group",
  request: { params: AgentGroupIdParam },
  responses: { 200: jsonAnswer(AgentGroup, "the agent group"), ...errorAnswers(400, 404) },
});

const Deleted = z.object({ deleted: z.string(), sessions: z.array(z.string()) });

const remove = createRoute({
  method: "delete",
  path: "/v1/registry/agent-groups/{id}",
  summary: "Deletes an agent group with its wirings, members, scoped roles, destinations and sessions",
  request: { params: AgentGroupIdParam },
  responses: {
    200: jsonAnswer(Deleted, "deleted; `sessions` lists the session records removed with it"),
    ...errorAnswers(400, 404),
  },
});

const sessions = createRoute({
  method: "get",
  path: "/v1/registry/sessions",
  summary: "Sessions (optionally one agent's), most recently active first",
  request: { query: SessionsQuery },
  responses: { 200: jsonAnswer(z.array(Session), "sessions"), ...errorAnswers(400) },
});

const session = createRoute({
  method: "get",
  path: "/v1/registry/sessions/{id}",
  summary: "One session",
  request: { params: SessionIdParam },
  responses: { 200: jsonAnswer(Session, "the session"), ...errorAnswers(400, 404) },
});

/** The agent-group and session routes. */
export function agentRoutes(plane: ControlPlane) {
  // Operator-direct: its writes are audited as the operator's.
  const registry = plane.registry.as("operator");
  return routeGroup()
    .openapi(list, (c) => c.json(registry.listAgentGroups(), 200))
    .openapi(put, (c) => {
      const body = c.req.valid("json");
      return c.json(registry.putAgentGroup({ ...body, id: c.req.valid("param").id }), 200);
    })
    .openapi(get, (c) => c.json(registry.getAgentGroup(c.req.valid("param").id), 200))
    .openapi(remove, async (c) => {
      const { id } = c.req.valid("param");
      // Through the plane: the group's sandboxes are stopped and its queue handles closed.
      return c.json({ deleted: id, sessions: await plane.deleteAgentGroup(id, { by: registry.by }) }, 200);
    })
    .openapi(sessions, (c) => {
      const { agentGroupId } = c.req.valid("query");
      return c.json(referencing(() => registry.listSessions(agentGroupId)), 200);
    })
    .openapi(session, (c) => c.json(registry.getSession(c.req.valid("param").id), 200));
}
