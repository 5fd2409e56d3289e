/**
 * Scheduling: the durable task store (source of truth for every session's
 * scheduled prompts), the schedule rules, and the scheduler whose due pass
 * hands each occurrence to its session exactly once and wakes it.
 *
 * ```ts
 * import { ControlPlane } from "../control_plane/mod.ts";
 *
 * const stateDir = await Deno.makeTempDir();
 * const plane = await ControlPlane.open({ stateDir, dev: true, background: false });
 * const tasks = new TaskStore(plane.state);
 * const scheduler = new Scheduler({ tasks, queues: plane.queues, waker: plane.waker });
 * scheduler.start();
 * await scheduler.stop();
 * await plane.close();
 * await Deno.remove(stateDir, { recursive: true });
 * ```
 *
 * @module
 */
export { followingRun, MAX_TASK_PROMPT_CHARS, validateSchedule } from "./rules.ts";
export type { ScheduleInput, ValidSchedule } from "./rules.ts";
export { TaskStore } from "./task_store.ts";
export type { NewTask, Task, TaskState, TaskStoreOptions, TaskUpdate } from "./task_store.ts";
export { occurrenceId, Scheduler } from "./scheduler.ts";
export type { DuePassResult, SchedulerDeps } from "./scheduler.ts";
export {
  DEFAULT_FLOOD_LIMITS,
  describeDuration,
  type FloodLimits,
  parseMinRecurrence,
} from "./flood_limits.ts";
