/**
 * Sandbox operations on sessions, for `ironclaw session`: every session with
 * its sandbox's state, one session in detail (parking, the host notices its
 * chat got, its log), the sessions parked after repeated sandbox failures,
 * an operator's release of one, and a deliberate stop.
 *
 * @module
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { ControlPlane } from "../../control_plane/mod.ts";
import type { Session } from "../../registry/mod.ts";
import { routeGroup } from "../route_group.ts";
import { ApiError } from "../errors.ts";
import { errorAnswers, jsonAnswer } from "../openapi.ts";
import { SessionIdParam, SessionsQuery } from "../schemas.ts";

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

/** A session as an operator sees it. */
const SessionView = z.object({
  id: z.string(),
  agentGroupId: z.string(),
  /** The chat it was opened from. */
  messagingGroupId: z.string(),
  threadId: z.string().nullable(),
  sessionMode: z.string(),
  /** What the registry last recorded: new, starting, running, stopped, failed or parked. */
  containerStatus: z.string(),
  /** Its sandbox runs now. */
  running: z.boolean(),
  /** Set when parked: failures in a row and the last one. */
  parked: z.object({ failures: z.number().int(), reason: z.string() }).nullable(),
  lastActive: z.string(),
  createdAt: z.string(),
}).openapi("SessionView");

/** One session in detail. */
const SessionDetail = SessionView.extend({
  /** Host notices its chat got lately (model failures, a sandbox that could not start), newest first. */
  notices: z.array(z.object({ topic: z.string(), text: z.string(), time: z.string() })),
  /** Its running sandbox's log on the host, when one runs. */
  logPath: z.string().nullable(),
}).openapi("SessionDetail");

const list = createRoute({
  method: "get",
  path: "/v1/sessions",
  summary: "Sessions (optionally one agent's) with their sandbox's state, most recently active first",
  request: { query: SessionsQuery },
  responses: { 200: jsonAnswer(z.array(SessionView), "sessions"), ...errorAnswers(400, 404) },
});

const show = createRoute({
  method: "get",
  path: "/v1/sessions/{id}",
  summary: "One session: its sandbox's state, parking, the notices its chat got, its log",
  request: { params: SessionIdParam },
  responses: { 200: jsonAnswer(SessionDetail, "the session"), ...errorAnswers(400, 404) },
});

const stop = createRoute({
  method: "post",
  path: "/v1/sessions/{id}/stop",
  summary:
    "Stop a session's sandbox on purpose (not a failure); its queue is kept and its next message wakes it",
  request: { params: SessionIdParam },
  responses: {
    200: jsonAnswer(z.object({ id: z.string(), status: z.literal("stopped") }), "stopped"),
    ...errorAnswers(400, 404),
  },
});

/** The operator's view of one registry session. */
export async function sessionView(
  plane: ControlPlane,
  session: Session,
): Promise<z.infer<typeof SessionView>> {
  const parked = plane.waker.parked().find((p) => p.sessionId === session.id);
  return {
    ...session,
    running: await plane.sandboxes.isRunning(session.id, { probe: false }),
    parked: parked ? { failures: parked.failures, reason: parked.reason } : null,
  };
}

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
    .openapi(list, async (c) => {
      const { agentGroupId } = c.req.valid("query");
      const sessions = plane.registry.listSessions(agentGroupId);
      return c.json(await Promise.all(sessions.map((s) => sessionView(plane, s))), 200);
    })
    .openapi(parked, (c) => c.json(parkedSessions(plane), 200))
    .openapi(show, async (c) => {
      const { id } = c.req.valid("param");
      const view = await sessionView(plane, plane.registry.getSession(id));
      const notices = plane.notices.recent(id);
      return c.json({ ...view, notices, logPath: plane.sandboxes.logPath(id) ?? null }, 200);
    })
    .openapi(stop, async (c) => {
      const { id } = c.req.valid("param");
      plane.registry.getSession(id); // 404 for an unknown session
      await plane.waker.stop(id);
      return c.json({ id, status: "stopped" as const }, 200);
    })
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
