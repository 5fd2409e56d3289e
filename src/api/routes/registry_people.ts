/**
 * Operator-direct people: users, role grants, memberships and the access
 * check that combines them.
 *
 * @module
 */
import { createRoute, type z } from "@hono/zod-openapi";
import type { ControlPlane } from "../../control_plane/mod.ts";
import { RoleGrant, User } from "../../registry/mod.ts";
import { routeGroup } from "../route_group.ts";
import { ApiError, referencing } from "../errors.ts";
import { errorAnswers, jsonAnswer, jsonBody } from "../openapi.ts";
import {
  AccessAnswer,
  AccessQuery,
  edgeBody,
  MemberBody,
  StatusAnswer,
  UserBody,
  UserIdParam,
} from "../schemas.ts";

const RoleBody = edgeBody(RoleGrant).openapi("RoleGrant");

const putUser = createRoute({
  method: "put",
  path: "/v1/registry/users/{id}",
  summary: "Creates or replaces a user (kind defaults to human)",
  request: { params: UserIdParam, body: jsonBody(UserBody) },
  responses: { 200: jsonAnswer(User, "the user"), ...errorAnswers(400, 413, 415) },
});

const getUser = createRoute({
  method: "get",
  path: "/v1/registry/users/{id}",
  summary: "One user",
  request: { params: UserIdParam },
  responses: { 200: jsonAnswer(User, "the user"), ...errorAnswers(400, 404) },
});

/** A POST route taking `body` and answering `{"status"}` with `status`. */
function statusRoute<P extends string, B extends z.ZodType, S extends 200 | 201>(
  path: P,
  summary: string,
  body: B,
  status: S,
) {
  return createRoute({
    method: "post",
    path,
    summary,
    request: { body: jsonBody(body) },
    responses: { [status]: jsonAnswer(StatusAnswer, "done"), ...errorAnswers(400, 413, 415) } as
      & { [K in S]: ReturnType<typeof jsonAnswer<typeof StatusAnswer>> }
      & ReturnType<typeof errorAnswers<[400, 413, 415]>>,
  });
}

const access = createRoute({
  method: "get",
  path: "/v1/registry/access",
  summary: "Whether a user may use an agent, and why",
  request: { query: AccessQuery },
  responses: { 200: jsonAnswer(AccessAnswer, "the answer"), ...errorAnswers(400) },
});

/** The user, role, member and access routes. */
export function peopleRoutes(plane: ControlPlane) {
  // Operator-direct: its writes are audited as the operator's.
  const registry = plane.registry.as("operator");
  const role = (body: RoleGrant, grant: boolean) => {
    if (body.role === "owner" && body.agentGroupId) {
      throw new ApiError(
        400,
        "agentGroupId: owner is a global role; grant admin to scope a user to one agent",
      );
    }
    referencing(() => grant ? registry.grantRole(body) : registry.revokeRole(body));
  };
  return routeGroup()
    .openapi(
      putUser,
      (c) => c.json(registry.putUser({ ...c.req.valid("json"), id: c.req.valid("param").id }), 200),
    )
    .openapi(getUser, (c) => c.json(registry.getUser(c.req.valid("param").id), 200))
    .openapi(statusRoute("/v1/registry/roles", "Grants a role (idempotent)", RoleBody, 201), (c) => {
      role(c.req.valid("json"), true);
      return c.json({ status: "granted" }, 201);
    })
    .openapi(statusRoute("/v1/registry/roles/revoke", "Revokes a role (idempotent)", RoleBody, 200), (c) => {
      role(c.req.valid("json"), false);
      return c.json({ status: "revoked" }, 200);
    })
    .openapi(statusRoute("/v1/registry/members", "Adds a member (idempotent)", MemberBody, 201), (c) => {
      const { userId, agentGroupId } = c.req.valid("json");
      referencing(() => registry.addMember(userId, agentGroupId));
      return c.json({ status: "added" }, 201);
    })
    .openapi(
      statusRoute("/v1/registry/members/remove", "Removes a member (idempotent)", MemberBody, 200),
      (c) => {
        const { userId, agentGroupId } = c.req.valid("json");
        referencing(() => registry.removeMember(userId, agentGroupId));
        return c.json({ status: "removed" }, 200);
      },
    )
    .openapi(access, (c) => {
      const { userId, agentGroupId } = c.req.valid("query");
      return c.json(referencing(() => registry.canAccess(userId, agentGroupId)), 200);
    });
}
