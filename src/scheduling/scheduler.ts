/**
 * The scheduler: the due pass over the task store, and the background loop
 * that runs it when the earliest task falls due (or when kicked after a
 * task changes), with slow polling only as a fallback.
 *
 * A due occurrence becomes one inbound `task` row whose id is derived from
 * the task and the run time, so a pass interrupted between writing the row
 * and advancing the task finds the row already there on the next pass and
 * only advances: each occurrence reaches the session exactly once, across
 * restarts.
 *
 * @module
 */
import type { SessionId } from "../../contract/ids.ts";
import { nowTimestamp, type Timestamp } from "../../contract/time.ts";
import { logger } from "../log/mod.ts";
import type { SessionQueues, SessionWaker } from "../session/mod.ts";
import { writeOnce } from "../idempotent/mod.ts";
import { Pacer } from "../async/mod.ts";
import type { Task, TaskStore } from "./task_store.ts";

/** What the scheduler is built from. */
export interface SchedulerDeps {
  tasks: TaskStore;
  queues: SessionQueues;
  waker: SessionWaker;
  /** The clock (tests pin it). */
  now?: () => Timestamp;
  /** Longest sleep of the background loop when no task is due sooner (default 60 s). */
  fallbackMs?: number;
}

/** What one due pass did. */
export interface DuePassResult {
  /** Ids of the inbound rows written (or found already written) for due occurrences. */
  enqueued: string[];
  /** Sessions woken. */
  woken: SessionId[];
  /** Tasks whose occurrence could not be handed over (retried on the next pass). */
  failed: { taskId: string; error: string }[];
}

/** The inbound message id of a task's occurrence at `run`. */
export function occurrenceId(taskId: string, run: Timestamp): string {
  return `sched_${taskId}_${Date.parse(run)}`;
}

/** Runs due tasks into their sessions. */
export class Scheduler {
  #d: SchedulerDeps;
  #now: () => Timestamp;
  #pacer: Pacer;
  #log = logger("scheduler");

  constructor(deps: SchedulerDeps) {
    this.#d = deps;
    this.#now = deps.now ?? nowTimestamp;
    this.#pacer = new Pacer({
      run: async () => void await this.runDue(),
      fallbackMs: deps.fallbackMs ?? 60_000,
      nextDeadline: () => {
        const next = this.#d.tasks.nextDue();
        return next === undefined ? undefined : Date.parse(next);
      },
      onError: (err) => this.#log.error("due pass failed: {error}", { error: String(err) }),
    });
  }

  /** Starts the background loop. */
  start(): void {
    this.#pacer.start();
  }

  /** Re-plans the loop after a task was created or changed. */
  kick(): void {
    this.#pacer.kick();
  }

  /** Stops the background loop. */
  stop(): Promise<void> {
    return this.#pacer.stop();
  }

  /**
   * Hands every due occurrence to its session: writes the inbound `task` row
   * (once), advances the task, re-syncs the session's task copy, and wakes
   * the session. A failing task is reported and retried on the next pass;
   * the others proceed.
   */
  async runDue(): Promise<DuePassResult> {
    const result: DuePassResult = { enqueued: [], woken: [], failed: [] };
    const touched = new Set<SessionId>();
    for (const task of this.#d.tasks.due(this.#now())) {
      try {
        result.enqueued.push(await this.#fire(task));
        touched.add(task.sessionId);
      } catch (err) {
        result.failed.push({ taskId: task.id, error: err instanceof Error ? err.message : String(err) });
        this.#log.warn("task {taskId} of session {sessionId} could not run: {error}", {
          taskId: task.id,
          sessionId: task.sessionId,
          error: String(err),
        });
      }
    }
    for (const sessionId of touched) {
      try {
        await this.syncSession(sessionId);
        await this.#d.waker.wake(sessionId);
        result.woken.push(sessionId);
      } catch (err) {
        this.#log.warn("could not wake session {sessionId} for its tasks: {error}", {
          sessionId,
          error: String(err),
        });
      }
    }
    return result;
  }

  /** Copies the session's live tasks into its inbound queue, where the agent reads them. */
  async syncSession(sessionId: SessionId): Promise<void> {
    (await this.#d.queues.inboundWriter(sessionId)).syncTasks(this.#d.tasks.rows(sessionId));
  }

  async #fire(task: Task): Promise<string> {
    const run = task.nextRun!;
    const id = occurrenceId(task.id, run);
    const writer = await this.#d.queues.inboundWriter(task.sessionId);
    const wrote = writeOnce(writer, {
      id,
      kind: "task",
      status: "scheduled",
      processAfter: run,
      recurrence: task.recurrence,
      seriesId: task.id,
      trigger: 1,
      content: task.prompt,
    });
    if (!wrote) this.#log.info("occurrence {id} was already queued; advancing only", { id });
    this.#d.tasks.advance(task.id, run);
    return id;
  }
}
