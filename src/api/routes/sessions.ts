/**
 * Sandbox operations on sessions: the sessions parked after repeated
 * sandbox failures, and an operator's release of one.
 *
 * @module
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { ControlPlane } from "../../control_plane/mod.ts";
import { routeGroup } from "../route_group.ts";
import { ApiError } from "../errors.ts";
import { errorAnswers, jsonAnswer } from "../openapi.ts";
import { SessionIdParam } from "../schemas.ts";

/** A parked session, as `GET /v1/sessions/parked` and `/v1/status` show it. */
export const ParkedView = z.object({
  sessionId: z.string(),
  agentGroupId: z.string(),
  /** Failures in a row when it was parked. */
  failures: z.number().int(),
  /** The last failure ("" when parked before this control plane started). */
  reason: z.string(),
}).openapi("ParkedSession");

const UnparkAnswer = z.object({
  id: z.string(),
  status: z.literal("unparked"),
  /** Set when it is unparked but its relaunch failed (the backoff counts again). */
  wakeError: z.string().optional(),
});

const parked = createRoute({
  method: "get",
  path: "/v1/sessions/parked",
  summary: "Sessions parked after repeated sandbox failures; none launches until unparked",
  responses: { 200: jsonAnswer(z.array(ParkedView), "parked sessions"), ...errorAnswers() },
});

const unpark = createRoute({
  method: "post",
  path: "/v1/sessions/{id}/unpark",
  summary: "Release a parked session and wake it (its queued messages wait for it)",
  request: { params: SessionIdParam },
  responses: {
    200: jsonAnswer(UnparkAnswer, "unparked"),
    ...errorAnswers(400, 404, 409),
  },
});

/** The parked sessions with their agents. */
export function parkedSessions(plane: ControlPlane): z.infer<typeof ParkedView>[] {
  return plane.waker.parked().map((p) => ({
    sessionId: p.sessionId,
    agentGroupId: plane.registry.getSession(p.sessionId).agentGroupId,
    failures: p.failures,
    reason: p.reason,
  }));
}

/** The session operation routes. */
export function sessionRoutes(plane: ControlPlane) {
  return routeGroup()
    .openapi(parked, (c) => c.json(parkedSessions(plane), 200))
    .openapi(unpark, async (c) => {
      const { id } = c.req.valid("param");
      plane.registry.getSession(id); // 404 for an unknown session
      let wakeError: string | undefined;
      try {
        if (!await plane.waker.unpark(id)) throw new ApiError(409, `session ${id} is not parked`);
      } catch (err) {
        if (err instanceof ApiError) throw err;
        wakeError = err instanceof Error ? err.message : String(err);
      }
      return c.json({ id, status: "unparked" as const, ...(wakeError ? { wakeError } : {}) }, 200);
    });
}
