/**
 * System actions: what the sandbox asks of the host, as the `content` of a
 * `kind=system` outbound row. Serialisation fixes the field order, so the
 * bytes are stable; parsing is total (any text yields an action name).
 *
 * @module
 */
import { z } from "zod";
import { normalizeRfc3339, Recurrence } from "./time.ts";

/** The generic envelope: `{"action", "payload"?, "reason"?}`. */
export interface SystemAction {
  action: string;
  payload?: unknown;
  reason?: string;
}

/** Renders an envelope; `payload` and `reason` are omitted when empty. */
export function formatSystemAction({ action, payload, reason }: SystemAction): string {
  const out: SystemAction = { action };
  if (payload !== undefined && payload !== null) out.payload = payload;
  if (reason) out.reason = reason;
  return JSON.stringify(out);
}

/**
 * Parses any body into an envelope. A JSON object with a non-empty string
 * `action` yields itself; anything else becomes `{action: <trimmed body>}`.
 */
export function parseSystemAction(body: string): SystemAction {
  const trimmed = body.trim();
  if (trimmed.startsWith("{")) {
    try {
      const value = JSON.parse(trimmed);
      if (value && typeof value === "object" && typeof value.action === "string" && value.action !== "") {
        const action: SystemAction = { action: value.action };
        if ("payload" in value) action.payload = value.payload;
        if (typeof value.reason === "string" && value.reason !== "") action.reason = value.reason;
        return action;
      }
    } catch { /* not JSON: the body is the action name */ }
  }
  return { action: trimmed };
}

/** The action name of a body, for routing: lower-cased and trimmed. */
export function systemActionName(body: string): string {
  return parseSystemAction(body).action.trim().toLowerCase();
}

const RunAt = z.string().refine((s) => s === "" || normalizeRfc3339(s) !== undefined, {
  message: "run_at must be empty (now) or an RFC 3339 time such as 2026-06-16T09:00:00Z",
});

/** `schedule_task`: a prompt the host feeds back at `run_at`, optionally recurring. */
export const ScheduleRequest = z.strictObject({
  action: z.literal("schedule_task"),
  prompt: z.string().trim().min(1, { message: "prompt must not be empty" }).max(16_384),
  run_at: RunAt,
  recurrence: Recurrence.optional(),
});
export type ScheduleRequest = z.infer<typeof ScheduleRequest>;

/** Renders a schedule request in its pinned field order. */
export function formatScheduleRequest(req: Omit<ScheduleRequest, "action">): string {
  const out: Record<string, string> = { action: "schedule_task", prompt: req.prompt, run_at: req.run_at };
  if (req.recurrence) out.recurrence = req.recurrence;
  return JSON.stringify(out);
}

/** `ask_user_question`: a question for the human, with optional buttons. */
export const AskUserRequest = z.strictObject({
  action: z.literal("ask_user_question"),
  question: z.string().trim().min(1, { message: "question must not be empty" }).max(4096),
  options: z.array(z.string().max(256)).max(16).optional(),
  allow_freeform: z.boolean().optional(),
});
export type AskUserRequest = z.infer<typeof AskUserRequest>;

/** Renders a question in its pinned field order; blank options are dropped. */
export function formatAskUserRequest(req: Omit<AskUserRequest, "action">): string {
  const out: Record<string, unknown> = { action: "ask_user_question", question: req.question };
  const options = (req.options ?? []).map((o) => o.trim()).filter((o) => o !== "");
  if (options.length > 0) out.options = options;
  if (req.allow_freeform) out.allow_freeform = true;
  return JSON.stringify(out);
}

/** Task-management actions; their payload is {@link TaskPayload}. */
export const TaskAction = z.enum(["list_tasks", "cancel_task", "pause_task", "resume_task", "update_task"]);
export type TaskAction = z.infer<typeof TaskAction>;

/** The payload of a task-management action. */
export const TaskPayload = z.strictObject({
  task_id: z.string().min(1).max(160).optional(),
  prompt: z.string().trim().min(1).max(16_384).optional(),
  run_at: RunAt.optional(),
  recurrence: Recurrence.optional(),
});
export type TaskPayload = z.infer<typeof TaskPayload>;
