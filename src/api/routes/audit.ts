/**
 * The gateway's audit log: its newest lines and a full chain check.
 *
 * @module
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { ControlPlane } from "../../control_plane/mod.ts";
import { routeGroup } from "../route_group.ts";
import { errorAnswers, jsonAnswer } from "../openapi.ts";
import { AuditEntry, auditLimit, AuditVerifyAnswer } from "../schemas.ts";

/** An audit-tail route at `path` whose `limit` defaults to `fallback`. */
export function auditTailRoute<P extends string>(path: P, fallback: number) {
  return createRoute({
    method: "get",
    path,
    summary: `The newest audit lines in file order (limit 1–2000, default ${fallback})`,
    request: { query: auditLimit(fallback) },
    responses: { 200: jsonAnswer(z.array(AuditEntry), "audit entries"), ...errorAnswers(400) },
  });
}

const verify = createRoute({
  method: "get",
  path: "/v1/audit/verify",
  summary: "Checks the whole hash chain",
  responses: {
    200: jsonAnswer(AuditVerifyAnswer, "the first broken line, or the line count"),
    ...errorAnswers(),
  },
});

/** The audit routes. */
export function auditRoutes(plane: ControlPlane) {
  return routeGroup()
    .openapi(
      auditTailRoute("/v1/audit", 100),
      async (c) => c.json(await plane.audit.tail(c.req.valid("query").limit), 200),
    )
    .openapi(verify, async (c) => c.json(await plane.audit.verify(), 200));
}
