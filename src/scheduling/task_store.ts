/**
 * The durable task store: every scheduled task of every session, in the
 * encrypted state database. It is the source of truth; each session's
 * inbound `tasks` table is a copy for the agent to read (see
 * {@link TaskStore.rows}). All operations are scoped to one session, so an
 * agent can only ever see or touch its own tasks.
 *
 * @module
 */
import type { SessionId } from "../../contract/ids.ts";
import type { TaskRow } from "../../contract/rows.ts";
import { nowTimestamp, recurrenceMs, type Timestamp } from "../../contract/time.ts";
import { DEFAULT_FLOOD_LIMITS, describeDuration, type FloodLimits } from "./flood_limits.ts";
import type { Database, Row } from "../../contract/sqlite/mod.ts";
import { ConflictError, InvalidInputError, NotFoundError, type StateDb } from "../state/mod.ts";
import {
  followingRun,
  validatePrompt,
  validateRecurrence,
  validateRunAt,
  validateSchedule,
} from "./rules.ts";

/** Where a task is in its life: `cancelled` and `done` are terminal. */
export type TaskState = TaskRow["state"];

/** One scheduled task. */
export interface Task {
  id: string;
  sessionId: SessionId;
  prompt: string;
  /** When it runs next; null once done or cancelled. */
  nextRun: Timestamp | null;
  recurrence: string | null;
  state: TaskState;
  /** Occurrences handed to the session so far. */
  fired: number;
  createdAt: Timestamp;
  updatedAt: Timestamp;
}

/** What creating a task needs; `id` is chosen by the caller so a retried request creates nothing new. */
export interface NewTask {
  id: string;
  sessionId: SessionId;
  prompt: string;
  /** "" means now. */
  runAt: string;
  recurrence?: string | null;
}

/** A change to a task: at least one field. */
export interface TaskUpdate {
  prompt?: string;
  runAt?: string;
  recurrence?: string | null;
}

/** Store options. */
export interface TaskStoreOptions {
  /** The clock (tests pin it). */
  now?: () => Timestamp;
  /** Caps on live tasks and the shortest recurrence (default {@linkcode DEFAULT_FLOOD_LIMITS}). */
  limits?: FloodLimits;
}

const COLUMNS = "id, session_id, prompt, next_run, recurrence, state, fired, created_at, updated_at";
const TASK_ID = /^[A-Za-z0-9_.:-]{1,120}$/;

function decodeTask(r: Row): Task {
  return {
    id: r.id as string,
    sessionId: r.session_id as SessionId,
    prompt: r.prompt as string,
    nextRun: r.next_run as Timestamp | null,
    recurrence: r.recurrence as string | null,
    state: r.state as TaskState,
    fired: r.fired as number,
    createdAt: r.created_at as Timestamp,
    updatedAt: r.updated_at as Timestamp,
  };
}

/** Scheduled tasks over the state database. */
export class TaskStore {
  #db: Database;
  #now: () => Timestamp;

  #limits: FloodLimits;

  constructor(state: StateDb, options: TaskStoreOptions = {}) {
    this.#db = state.db;
    this.#now = options.now ?? nowTimestamp;
    this.#limits = options.limits ?? DEFAULT_FLOOD_LIMITS;
  }

  /** Refuses a recurrence shorter than the host's minimum. */
  #checkRecurrence(recurrence: string | null | undefined): void {
    const ms = recurrence ? recurrenceMs(recurrence) : undefined;
    if (ms !== undefined && ms < this.#limits.minRecurrenceMs) {
      throw new InvalidInputError(
        `invalid task: recurrence ${recurrence} is more often than this host allows (at most every ` +
          `${
            describeDuration(this.#limits.minRecurrenceMs)
          }; the operator sets it with serve --min-recurrence)`,
      );
    }
  }

  /** Refuses a new task past the session's or its agent group's cap of live tasks. */
  #checkRoom(sessionId: SessionId): void {
    const live = "state IN ('active', 'paused')";
    const own = this.#db.get(`SELECT COUNT(*) AS n FROM scheduled_tasks WHERE session_id = ? AND ${live}`, [
      sessionId,
    ])?.n as number;
    const { tasksPerSession, tasksPerGroup } = this.#limits;
    if (own >= tasksPerSession) {
      throw new InvalidInputError(
        `too many tasks: this conversation already has ${own} live tasks (the cap is ${tasksPerSession}); ` +
          "cancel one with cancel_task first",
      );
    }
    const group = this.#db.get(
      `SELECT COUNT(*) AS n FROM scheduled_tasks t JOIN sessions s ON s.id = t.session_id
       WHERE s.agent_group_id = (SELECT agent_group_id FROM sessions WHERE id = ?) AND t.${live}`,
      [sessionId],
    )?.n as number;
    if (group >= tasksPerGroup) {
      throw new InvalidInputError(
        `too many tasks: this agent already has ${group} live tasks across its conversations ` +
          `(the cap is ${tasksPerGroup}); cancel some first`,
      );
    }
  }

  /**
   * Creates a task, or returns the existing one with that id (`created`
   * false), so handling the same request twice schedules it once. Throws
   * {@link InvalidInputError} for a bad schedule, {@link ConflictError} when
   * the id belongs to another session.
   */
  create(input: NewTask): { task: Task; created: boolean } {
    if (!TASK_ID.test(input.id)) throw new InvalidInputError(`invalid task id ${JSON.stringify(input.id)}`);
    const now = this.#now();
    const s = validateSchedule(input, now);
    this.#checkRecurrence(s.recurrence);
    return this.#db.transaction(() => {
      // Handling the same request again is not a new task.
      if (!this.#find(input.id)) this.#checkRoom(input.sessionId);
      const created = this.#db.run(
        `INSERT INTO scheduled_tasks (id, session_id, prompt, next_run, recurrence, state, fired, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, 'active', 0, ?, ?) ON CONFLICT (id) DO NOTHING`,
        [input.id, input.sessionId, s.prompt, s.runAt, s.recurrence, now, now],
      ) === 1;
      const task = this.#find(input.id);
      if (!task || task.sessionId !== input.sessionId) {
        throw new ConflictError(`task ${input.id} belongs to another session`);
      }
      return { task, created };
    });
  }

  /** The task `id` of `sessionId`; {@link NotFoundError} when it is not that session's. */
  get(sessionId: SessionId, id: string): Task {
    const task = this.#find(id);
    if (!task || task.sessionId !== sessionId) throw new NotFoundError("task", id);
    return task;
  }

  /** The session's live tasks (active and paused), by next run, then id. */
  list(sessionId: SessionId): Task[] {
    return this.#db.all(
      `SELECT ${COLUMNS} FROM scheduled_tasks WHERE session_id = ? AND state IN ('active', 'paused')
       ORDER BY next_run, id`,
      [sessionId],
    ).map(decodeTask);
  }

  /** Every session's live tasks (the operator's view), or those of `sessionIds`, by next run, then id. */
  live(sessionIds?: readonly SessionId[]): Task[] {
    const wanted = sessionIds && new Set<string>(sessionIds);
    return this.#db.all(
      `SELECT ${COLUMNS} FROM scheduled_tasks WHERE state IN ('active', 'paused') ORDER BY next_run, id`,
    ).map(decodeTask).filter((t) => !wanted || wanted.has(t.sessionId));
  }

  /** Task `id` of any session (the operator's view); {@link NotFoundError} when there is none. */
  byId(id: string): Task {
    const task = this.#find(id);
    if (!task) throw new NotFoundError("task", id);
    return task;
  }

  /** The session's live tasks in the contract's row form, for `InboundWriter.syncTasks`. */
  rows(sessionId: SessionId): TaskRow[] {
    return this.list(sessionId).map((t) => ({
      id: t.id,
      prompt: t.prompt,
      nextRun: t.nextRun,
      recurrence: t.recurrence,
      state: t.state,
    }));
  }

  /** Cancels a task (terminal, idempotent). */
  cancel(sessionId: SessionId, id: string): Task {
    return this.#db.transaction(() => {
      const task = this.get(sessionId, id);
      if (task.state === "cancelled") return task;
      this.#set(id, "state = 'cancelled', next_run = NULL");
      return this.get(sessionId, id);
    });
  }

  /** Pauses a task (idempotent); refuses a cancelled or finished one. */
  pause(sessionId: SessionId, id: string): Task {
    return this.#transition(sessionId, id, "paused");
  }

  /** Resumes a paused task (idempotent); refuses a cancelled or finished one. A missed run fires at once. */
  resume(sessionId: SessionId, id: string): Task {
    return this.#transition(sessionId, id, "active");
  }

  /** Changes a task's prompt, run time or recurrence; refuses a cancelled task and an empty change. */
  update(sessionId: SessionId, id: string, change: TaskUpdate): Task {
    if (change.prompt === undefined && change.runAt === undefined && change.recurrence === undefined) {
      throw new InvalidInputError("invalid task update: name at least one of prompt, run_at, recurrence");
    }
    const now = this.#now();
    const prompt = change.prompt === undefined ? undefined : validatePrompt(change.prompt);
    const runAt = change.runAt === undefined ? undefined : validateRunAt(change.runAt, now);
    const recurrence = change.recurrence === undefined ? undefined : validateRecurrence(change.recurrence);
    this.#checkRecurrence(recurrence);
    return this.#db.transaction(() => {
      const task = this.get(sessionId, id);
      if (task.state === "cancelled") throw new ConflictError(`task ${id} is cancelled`);
      const nextRun = runAt ?? task.nextRun;
      this.#db.run(
        `UPDATE scheduled_tasks SET prompt = ?, next_run = ?, recurrence = ?,
           state = CASE WHEN state = 'done' THEN 'active' ELSE state END, updated_at = ? WHERE id = ?`,
        [
          prompt ?? task.prompt,
          // A finished task given a new time runs again; one given none stays where it was.
          nextRun ?? (task.state === "done" ? now : null),
          recurrence === undefined ? task.recurrence : recurrence,
          now,
          id,
        ],
      );
      return this.get(sessionId, id);
    });
  }

  /** Active tasks due at `now`, earliest first. */
  due(now: Timestamp = this.#now()): Task[] {
    return this.#db.all(
      `SELECT ${COLUMNS} FROM scheduled_tasks WHERE state = 'active' AND next_run IS NOT NULL AND next_run <= ?
       ORDER BY next_run, id`,
      [now],
    ).map(decodeTask);
  }

  /** The earliest next run of any active task, or undefined. */
  nextDue(): Timestamp | undefined {
    const row = this.#db.get(
      "SELECT min(next_run) AS next FROM scheduled_tasks WHERE state = 'active' AND next_run IS NOT NULL",
    );
    return (row?.next as Timestamp | null) ?? undefined;
  }

  /**
   * Records that the occurrence at `firedRun` was handed to the session: a
   * recurring task moves to its following run, a one-off is done. Conditional
   * on the task still being active at that run, so a second call for the same
   * occurrence changes nothing (returns false).
   */
  advance(id: string, firedRun: Timestamp): boolean {
    const now = this.#now();
    return this.#db.transaction(() => {
      const task = this.#find(id);
      if (!task || task.state !== "active" || task.nextRun !== firedRun) return false;
      const next = followingRun(firedRun, task.recurrence, now);
      this.#db.run(
        `UPDATE scheduled_tasks SET next_run = ?, state = ?, fired = fired + 1, updated_at = ? WHERE id = ?`,
        [next ?? null, next ? "active" : "done", now, id],
      );
      return true;
    });
  }

  #transition(sessionId: SessionId, id: string, to: "active" | "paused"): Task {
    return this.#db.transaction(() => {
      const task = this.get(sessionId, id);
      if (task.state === "cancelled" || task.state === "done") {
        throw new ConflictError(`task ${id} is ${task.state}`);
      }
      if (task.state !== to) this.#set(id, `state = '${to}'`);
      return this.get(sessionId, id);
    });
  }

  #set(id: string, assignments: string): void {
    this.#db.run(`UPDATE scheduled_tasks SET ${assignments}, updated_at = ? WHERE id = ?`, [this.#now(), id]);
  }

  #find(id: string): Task | undefined {
    const row = this.#db.get(`SELECT ${COLUMNS} FROM scheduled_tasks WHERE id = ?`, [id]);
    return row && decodeTask(row);
  }
}
