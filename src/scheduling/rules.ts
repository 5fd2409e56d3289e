/**
 * The rules of a schedule: what a valid request is, and when a recurring
 * task runs next. Pure functions over the contract's timestamp and
 * recurrence forms.
 *
 * @module
 */
import { normalizeRfc3339, Recurrence, recurrenceMs, type Timestamp } from "../../contract/time.ts";
import { InvalidInputError } from "../state/mod.ts";

/** Longest prompt a task may hold (the contract's `schedule_task` limit). */
export const MAX_TASK_PROMPT_CHARS = 16_384;

/** A schedule as asked for: `runAt` "" means now; `recurrence` "" or absent means once. */
export interface ScheduleInput {
  prompt: string;
  runAt: string;
  recurrence?: string | null;
}

/** A checked schedule in stored form. */
export interface ValidSchedule {
  prompt: string;
  runAt: Timestamp;
  recurrence: string | null;
}

/** Checks a prompt: trimmed, non-empty, bounded. Throws {@link InvalidInputError}. */
export function validatePrompt(prompt: string): string {
  const text = prompt.trim();
  if (text === "") throw new InvalidInputError("invalid task: prompt must not be empty");
  if (text.length > MAX_TASK_PROMPT_CHARS) {
    throw new InvalidInputError(`invalid task: prompt is longer than ${MAX_TASK_PROMPT_CHARS} characters`);
  }
  return text;
}

/** Checks a run time: "" is `now`, anything else RFC 3339 in any offset. Throws {@link InvalidInputError}. */
export function validateRunAt(runAt: string, now: Timestamp): Timestamp {
  if (runAt.trim() === "") return now;
  const normalized = normalizeRfc3339(runAt);
  if (normalized === undefined) {
    throw new InvalidInputError(
      `invalid task: run_at ${JSON.stringify(runAt)} is not an RFC 3339 time such as 2026-06-16T09:00:00Z`,
    );
  }
  return normalized;
}

/** Checks a recurrence: "" or absent is none; else named or a positive duration. Throws {@link InvalidInputError}. */
export function validateRecurrence(recurrence: string | null | undefined): string | null {
  if (recurrence === undefined || recurrence === null || recurrence.trim() === "") return null;
  const r = recurrence.trim();
  if (!Recurrence.safeParse(r).success) {
    throw new InvalidInputError(
      `invalid task: recurrence ${
        JSON.stringify(r)
      } must be hourly, daily, weekly, or a positive duration like 15m or 2h`,
    );
  }
  return r;
}

/** Checks a whole schedule request. Throws {@link InvalidInputError} naming the first bad field. */
export function validateSchedule(input: ScheduleInput, now: Timestamp): ValidSchedule {
  return {
    prompt: validatePrompt(input.prompt),
    runAt: validateRunAt(input.runAt, now),
    recurrence: validateRecurrence(input.recurrence),
  };
}

/**
 * The run after `previous` for `recurrence` that is later than `now`, or
 * undefined when the task does not recur. Occurrences missed while the host
 * was down are collapsed: the task runs once for them, then keeps its rhythm.
 */
export function followingRun(
  previous: Timestamp,
  recurrence: string | null,
  now: Timestamp,
): Timestamp | undefined {
  if (recurrence === null) return undefined;
  const interval = recurrenceMs(recurrence);
  if (interval === undefined) return undefined;
  const prev = Date.parse(previous);
  const steps = Math.max(1, Math.floor((Date.parse(now) - prev) / interval) + 1);
  return new Date(prev + steps * interval).toISOString();
}
