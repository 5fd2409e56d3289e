/**
 * The hosts each agent may fetch from: listed, and revoked by the operator.
 * Approving a host is a gateway change (`wiring` with `egress`, which the
 * agent's `request_api_access` proposes); taking one away only narrows what
 * an agent can do, so the operator does it directly. Live at once.
 *
 * @module
 */
import { createRoute, z } from "@hono/zod-openapi";
import { AgentGroupId } from "../../../contract/ids.ts";
import { nowTimestamp } from "../../../contract/time.ts";
import type { ControlPlane } from "../../control_plane/mod.ts";
import { routeGroup } from "../route_group.ts";
import { ApiError } from "../errors.ts";
import { errorAnswers, jsonAnswer } from "../openapi.ts";

const GroupParam = z.object({ id: AgentGroupId });
const HostParam = z.object({ id: AgentGroupId, host: z.string().min(1).max(253) });
const HostsView = z.object({ agentGroupId: z.string(), hosts: z.array(z.string()) }).openapi("EgressHosts");

const list = createRoute({
  method: "get",
  path: "/v1/egress/{id}/hosts",
  summary: "The hosts a human approved for this agent's http_fetch",
  request: { params: GroupParam },
  responses: { 200: jsonAnswer(HostsView, "approved hosts, sorted"), ...errorAnswers(400, 404) },
});

const revoke = createRoute({
  method: "delete",
  path: "/v1/egress/{id}/hosts/{host}",
  summary: "Take an approved host away from this agent (at once, no restart)",
  request: { params: HostParam },
  responses: { 200: jsonAnswer(HostsView, "the hosts left"), ...errorAnswers(400, 404) },
});

/** The egress host routes. */
export function egressRoutes(plane: ControlPlane) {
  return routeGroup()
    .openapi(list, (c) => {
      const { id } = c.req.valid("param");
      plane.registry.getAgentGroup(id); // 404 for an unknown agent
      return c.json({ agentGroupId: id, hosts: plane.egress.hosts.list(id) }, 200);
    })
    .openapi(revoke, async (c) => {
      const { id, host } = c.req.valid("param");
      plane.registry.getAgentGroup(id);
      if (!plane.egress.hosts.revoke(id, host)) throw new ApiError(404, `${host} is not approved for ${id}`);
      await plane.egress.audit.append({
        time: nowTimestamp(),
        action: "egress.revoke",
        agentGroup: id,
        host,
      });
      return c.json({ agentGroupId: id, hosts: plane.egress.hosts.list(id) }, 200);
    });
}
