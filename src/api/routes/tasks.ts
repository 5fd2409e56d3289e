/**
 * Scheduled tasks as the operator sees them, for `ironclaw task`: every
 * agent's live tasks (the agents see only their own session's) and an
 * operator's cancel, which the agent's session learns from its task copy
 * like any cancel.
 *
 * @module
 */
import { createRoute, z } from "@hono/zod-openapi";
import { AgentGroupId } from "../../../contract/ids.ts";
import type { ControlPlane } from "../../control_plane/mod.ts";
import { logger } from "../../log/mod.ts";
import type { Task } from "../../scheduling/mod.ts";
import { ApiError } from "../errors.ts";
import { errorAnswers, jsonAnswer } from "../openapi.ts";
import { routeGroup } from "../route_group.ts";

/** A task with the agent whose session it belongs to. */
const TaskView = z.object({
  id: z.string(),
  agentGroupId: z.string(),
  sessionId: z.string(),
  prompt: z.string(),
  /** When it runs next; null once done or cancelled. */
  nextRun: z.string().nullable(),
  /** How often it repeats (`1h`, a cron line), or null for a one-off. */
  recurrence: z.string().nullable(),
  /** active, paused, done or cancelled. */
  state: z.string(),
  /** Occurrences handed to the session so far. */
  fired: z.number().int(),
  createdAt: z.string(),
}).openapi("TaskView");

const TasksQuery = z.object({ agentGroupId: AgentGroupId.optional() });
const TaskIdParam = z.object({
  id: z.string().regex(/^tsk_[A-Za-z0-9_-]{1,128}$/, { message: "a task id is tsk_…" }),
});

const list = createRoute({
  method: "get",
  path: "/v1/tasks",
  summary: "Live scheduled tasks (active and paused) of every agent or one, by next run",
  request: { query: TasksQuery },
  responses: { 200: jsonAnswer(z.array(TaskView), "tasks"), ...errorAnswers(400, 404) },
});

const cancel = createRoute({
  method: "post",
  path: "/v1/tasks/{id}/cancel",
  summary: "Cancel a scheduled task (idempotent); its session's task list says so",
  request: { params: TaskIdParam },
  responses: { 200: jsonAnswer(TaskView, "the cancelled task"), ...errorAnswers(400, 404, 409) },
});

/** The scheduled-task routes. */
export function taskRoutes(plane: ControlPlane) {
  const log = logger("tasks");
  const view = (task: Task): z.infer<typeof TaskView> => ({
    id: task.id,
    agentGroupId: plane.registry.getSession(task.sessionId).agentGroupId,
    sessionId: task.sessionId,
    prompt: task.prompt,
    nextRun: task.nextRun,
    recurrence: task.recurrence,
    state: task.state,
    fired: task.fired,
    createdAt: task.createdAt,
  });
  return routeGroup()
    .openapi(list, (c) => {
      const { agentGroupId } = c.req.valid("query");
      // listSessions answers 404 for an unknown agent.
      const sessions = agentGroupId === undefined
        ? undefined
        : plane.registry.listSessions(agentGroupId).map((s) => s.id);
      return c.json(plane.tasks.live(sessions).map(view), 200);
    })
    .openapi(cancel, async (c) => {
      const { id } = c.req.valid("param");
      const task = plane.tasks.byId(id);
      if (task.state === "done") throw new ApiError(409, `task ${id} already ran its last time`);
      const cancelled = plane.tasks.cancel(task.sessionId, id);
      // The agent reads its tasks from its queue's copy; the due loop forgets the task.
      await plane.scheduler.syncSession(task.sessionId);
      plane.scheduler.kick();
      log.info("task {taskId} of session {sessionId} cancelled by the operator", {
        taskId: id,
        sessionId: task.sessionId,
      });
      return c.json(view(cancelled), 200);
    });
}
