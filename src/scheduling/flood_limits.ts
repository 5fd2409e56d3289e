/**
 * How much an agent may ask of its operator and its bill: live tasks and open
 * questions per session and per agent group, and the shortest recurrence a
 * task may have. An agent that runs into one is told which, by the tool error.
 *
 * @module
 */
import { recurrenceMs } from "../../contract/time.ts";

/** The caps. */
export interface FloodLimits {
  /** Live (active or paused) tasks one session may hold. */
  tasksPerSession: number;
  /** Live tasks all the sessions of one agent group may hold together. */
  tasksPerGroup: number;
  /** Unanswered questions one session may have open. */
  questionsPerSession: number;
  /** Unanswered questions all the sessions of one agent group may have open together. */
  questionsPerGroup: number;
  /** The shortest recurrence, in ms (a `1s` task would run a model turn every second). */
  minRecurrenceMs: number;
}

/** The defaults: 20 tasks and 10 open questions a session, 100 and 50 a group, recurring every 5 minutes at most. */
export const DEFAULT_FLOOD_LIMITS: FloodLimits = {
  tasksPerSession: 20,
  tasksPerGroup: 100,
  questionsPerSession: 10,
  questionsPerGroup: 50,
  minRecurrenceMs: 5 * 60_000,
};

/** A duration as people write it: `5m`, `1h30m`, `45s`. */
export function describeDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  const parts = [[Math.floor(s / 3600), "h"], [Math.floor((s % 3600) / 60), "m"], [s % 60, "s"]] as const;
  return parts.filter(([n]) => n > 0).map(([n, unit]) => `${n}${unit}`).join("") || "0s";
}

/** `--min-recurrence` as ms: a duration such as `5m` or `1h`; throws one line naming the fix. */
export function parseMinRecurrence(text: string): number {
  const ms = recurrenceMs(text.trim());
  if (ms === undefined) {
    throw new RangeError(`--min-recurrence ${text}: expected a positive duration such as 5m, 30m or 1h`);
  }
  return ms;
}
