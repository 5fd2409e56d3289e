/**
 * Scheduling tools. `schedule_task` asks the host to feed a prompt back
 * later; the task-management tools ask it to list, cancel, pause, resume or
 * change tasks. All are system actions in the contract's exact formats; the
 * host answers with a message.
 *
 * @module
 */
import { z } from "zod";
import {
  formatScheduleRequest,
  formatSystemAction,
  ScheduleRequest,
  TaskPayload,
} from "../../contract/actions.ts";
import { defineTool, type Tool, ToolError } from "./tool.ts";

const RUN_AT = "when to run, RFC 3339 with offset (e.g. 2026-06-16T09:00:00Z); omit for now";
const RECURRENCE = "repeat: hourly, daily, weekly, or a duration like 15m or 2h; omit for once";

/** Validates with a contract schema, turning its issues into a tool error. */
function validated<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ToolError(z.prettifyError(parsed.error));
  return parsed.data;
}

/** `schedule_task`: a prompt for the host to send back at `run_at`, optionally recurring. */
export const scheduleTask: Tool = defineTool({
  name: "schedule_task",
  description: "Schedule a prompt that the host sends back to you at a time, optionally repeating.",
  input: z.strictObject({
    prompt: z.string().describe("what you will be asked to do when it runs"),
    run_at: z.string().optional().describe(RUN_AT),
    recurrence: z.string().optional().describe(RECURRENCE),
  }),
  invoke({ prompt, run_at, recurrence }) {
    const request = validated(ScheduleRequest, {
      action: "schedule_task",
      prompt,
      run_at: run_at?.trim() ?? "",
      ...(recurrence ? { recurrence } : {}),
    });
    return {
      text: `asked the host to schedule the task${request.run_at ? ` at ${request.run_at}` : " now"}`,
      action: formatScheduleRequest(request),
    };
  },
});

const TaskId = z.string().min(1).describe("the task id, as shown by list_tasks");

function taskAction(action: string, payload: z.output<typeof TaskPayload> | undefined, what: string) {
  return {
    text: `asked the host to ${what}; the answer will arrive as a message`,
    action: formatSystemAction({ action, payload }),
  };
}

/** `list_tasks`. */
export const listTasks: Tool = defineTool({
  name: "list_tasks",
  description: "Ask the host for this conversation's scheduled tasks; the list arrives as a message.",
  input: z.strictObject({}),
  invoke: () => taskAction("list_tasks", undefined, "list the scheduled tasks"),
});

function taskIdTool(name: "cancel_task" | "pause_task" | "resume_task", verb: string): Tool {
  return defineTool({
    name,
    description: `Ask the host to ${verb} a scheduled task.`,
    input: z.strictObject({ task_id: TaskId }),
    invoke: ({ task_id }) => taskAction(name, validated(TaskPayload, { task_id }), `${verb} task ${task_id}`),
  });
}

/** `cancel_task`. */
export const cancelTask: Tool = taskIdTool("cancel_task", "cancel");
/** `pause_task`. */
export const pauseTask: Tool = taskIdTool("pause_task", "pause");
/** `resume_task`. */
export const resumeTask: Tool = taskIdTool("resume_task", "resume");

/** `update_task`: at least one of prompt, run_at, recurrence. */
export const updateTask: Tool = defineTool({
  name: "update_task",
  description: "Ask the host to change a scheduled task's prompt, time or recurrence.",
  input: z.strictObject({
    task_id: TaskId,
    prompt: z.string().optional(),
    run_at: z.string().optional().describe(RUN_AT),
    recurrence: z.string().optional().describe(RECURRENCE),
  }),
  invoke({ task_id, prompt, run_at, recurrence }) {
    if (prompt === undefined && run_at === undefined && recurrence === undefined) {
      throw new ToolError("name at least one change: prompt, run_at or recurrence");
    }
    // Field order is the wire order: task_id, prompt, run_at, recurrence.
    const payload = validated(TaskPayload, { task_id, prompt, run_at, recurrence });
    return taskAction("update_task", payload, `update task ${task_id}`);
  },
});
