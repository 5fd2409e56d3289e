/**
 * The task rows of an agent: `schedule_task` creates a task in the task
 * store; the management actions (list, cancel, pause, resume, update) act on
 * the session's own tasks and answer the session. Either way the scheduler
 * copies the session's tasks into its queue and re-plans its due loop.
 *
 * @module
 */
import {
  type MessageOut,
  ScheduleRequest,
  type SessionId,
  type TaskAction,
  TaskPayload,
} from "../../contract/mod.ts";
import { stableId, writeOnce } from "../idempotent/mod.ts";
import type { Session } from "../registry/mod.ts";
import type { Task, TaskStore } from "../scheduling/mod.ts";
import type { SessionQueues } from "../session/mod.ts";
import { ConflictError, InvalidInputError } from "../state/mod.ts";
import { firstIssue, type Handled, parseJsonObject, Refused } from "./outcome.ts";

/** What the scheduler does for delivery after a task changes. */
export interface TaskSync {
  /** Copies the session's tasks into its inbound queue. */
  syncSession(sessionId: SessionId): Promise<void>;
  /** Re-plans the due loop. */
  kick(): void;
}

/** What task rows are carried out with. */
export interface TaskActionsDeps {
  tasks: TaskStore;
  scheduler: TaskSync;
  queues: SessionQueues;
}

/** Carries out an agent's task rows. */
export class TaskActions {
  #d: TaskActionsDeps;

  constructor(deps: TaskActionsDeps) {
    this.#d = deps;
  }

  /** `schedule_task`: a task in the store (its id derived from the row's), synced into the session's queue. */
  async schedule(session: Session, message: MessageOut): Promise<Handled> {
    const { tasks, scheduler } = this.#d;
    const body = parseJsonObject(message.content);
    const parsed = ScheduleRequest.safeParse(body && { ...body, action: "schedule_task" });
    if (!parsed.success) throw new Refused(`schedule_task: ${firstIssue(parsed.error)}`);
    const id = await stableId("tsk", session.id, message.id);
    let task: Task, created: boolean;
    try {
      ({ task, created } = tasks.create({
        id,
        sessionId: session.id,
        prompt: parsed.data.prompt,
        runAt: parsed.data.run_at,
        recurrence: parsed.data.recurrence,
      }));
    } catch (err) {
      if (err instanceof InvalidInputError || err instanceof ConflictError) throw new Refused(err.message);
      throw err;
    }
    await scheduler.syncSession(session.id);
    scheduler.kick();
    return { outcome: "scheduled", detail: `${task.id}${created ? "" : " (already)"}` };
  }

  /**
   * A task management action (list, cancel, pause, resume, update) on the
   * session's own tasks; the answer, or why it failed, comes back to the
   * session as a system message (once per row).
   */
  async manage(
    session: Session,
    request: { message: MessageOut; action: TaskAction; payload: unknown },
  ): Promise<Handled> {
    const { message, action, payload } = request;
    const { scheduler } = this.#d;
    const parsed = TaskPayload.safeParse(payload ?? {});
    let answer: string;
    if (!parsed.success) {
      answer = `${action} failed: ${firstIssue(parsed.error)}`;
    } else {
      try {
        answer = this.#apply(session.id, action, parsed.data);
      } catch (err) {
        answer = `${action} failed: ${err instanceof Error ? err.message : String(err)}`;
      }
    }
    await scheduler.syncSession(session.id);
    scheduler.kick();
    const id = await stableId("tasks", session.id, message.id);
    writeOnce(await this.#d.queues.inboundWriter(session.id), {
      id,
      kind: "system",
      trigger: 1,
      content: answer,
    });
    return { outcome: "task-answered", detail: action };
  }

  #apply(sessionId: SessionId, action: TaskAction, p: TaskPayload): string {
    const { tasks } = this.#d;
    if (action === "list_tasks") return formatTaskList(tasks.list(sessionId));
    if (!p.task_id) throw new Error("task_id is required");
    switch (action) {
      case "cancel_task":
        return `Task ${tasks.cancel(sessionId, p.task_id).id} is cancelled.`;
      case "pause_task":
        return `Task ${tasks.pause(sessionId, p.task_id).id} is paused.`;
      case "resume_task":
        return `Task ${describeTask(tasks.resume(sessionId, p.task_id))} is active again.`;
      case "update_task": {
        const task = tasks.update(sessionId, p.task_id, {
          prompt: p.prompt,
          runAt: p.run_at,
          recurrence: p.recurrence,
        });
        return `Task updated: ${describeTask(task)}.`;
      }
    }
  }
}

function describeTask(t: Task): string {
  const when = t.nextRun ? `next run ${t.nextRun}` : "no next run";
  return `${t.id} (${t.state}, ${when}${t.recurrence ? `, repeats ${t.recurrence}` : ""})`;
}

/** The text of a `list_tasks` answer. */
export function formatTaskList(tasks: readonly Task[]): string {
  if (tasks.length === 0) return "You have no scheduled tasks.";
  return ["Your scheduled tasks:", ...tasks.map((t) => `- ${describeTask(t)}: ${t.prompt}`)].join("\n");
}
