/**
 * Questions an agent asked its humans (`ask_user_question`), durable in the
 * state database until answered. Answering feeds the answer back into the
 * asking session as a message and wakes it (see {@link QuestionDesk}).
 *
 * @module
 */
import type { AgentGroupId, SessionId } from "../../contract/ids.ts";
import { nowTimestamp, type Timestamp } from "../../contract/time.ts";
import type { Database, Row } from "../../contract/sqlite/mod.ts";
import { ConflictError, InvalidInputError, NotFoundError, type StateDb } from "../state/mod.ts";
import { DEFAULT_FLOOD_LIMITS, type FloodLimits } from "../scheduling/mod.ts";

/** One question. */
export interface Question {
  id: string;
  sessionId: SessionId;
  agentGroupId: AgentGroupId;
  question: string;
  /** Buttons to offer; empty means free text only. */
  options: string[];
  /** Whether an answer outside `options` is accepted. */
  allowFreeform: boolean;
  askedAt: Timestamp;
  answer: string | null;
  answeredBy: string | null;
  answeredAt: Timestamp | null;
}

/** What recording a question needs; `id` is chosen by the caller so a retried request records it once. */
export interface NewQuestion {
  id: string;
  sessionId: SessionId;
  agentGroupId: AgentGroupId;
  question: string;
  options?: readonly string[];
  allowFreeform?: boolean;
}

/** Longest answer accepted. */
export const MAX_ANSWER_CHARS = 8192;

const COLUMNS =
  "id, session_id, agent_group_id, question, options, allow_freeform, asked_at, answer, answered_by, answered_at";

function decode(r: Row): Question {
  return {
    id: r.id as string,
    sessionId: r.session_id as SessionId,
    agentGroupId: r.agent_group_id as AgentGroupId,
    question: r.question as string,
    options: JSON.parse(r.options as string) as string[],
    allowFreeform: r.allow_freeform === 1,
    askedAt: r.asked_at as Timestamp,
    answer: r.answer as string | null,
    answeredBy: r.answered_by as string | null,
    answeredAt: r.answered_at as Timestamp | null,
  };
}

/** Durable questions over the state database. */
export class QuestionStore {
  #db: Database;
  #now: () => Timestamp;

  #limits: Pick<FloodLimits, "questionsPerSession" | "questionsPerGroup">;

  constructor(state: StateDb, options: { now?: () => Timestamp; limits?: FloodLimits } = {}) {
    this.#db = state.db;
    this.#now = options.now ?? nowTimestamp;
    this.#limits = options.limits ?? DEFAULT_FLOOD_LIMITS;
  }

  /** Refuses a new question past the session's or its agent group's cap of open ones. */
  #checkRoom(input: NewQuestion): void {
    const open = (where: string, value: string) =>
      this.#db.get(`SELECT COUNT(*) AS n FROM questions WHERE ${where} = ? AND answered_at IS NULL`, [value])
        ?.n as number;
    const { questionsPerSession, questionsPerGroup } = this.#limits;
    const own = open("session_id", input.sessionId);
    if (own >= questionsPerSession) {
      throw new InvalidInputError(
        `too many open questions: this conversation has ${own} unanswered (the cap is ${questionsPerSession}); ` +
          "wait for answers before asking more",
      );
    }
    const group = open("agent_group_id", input.agentGroupId);
    if (group >= questionsPerGroup) {
      throw new InvalidInputError(
        `too many open questions: this agent has ${group} unanswered across its conversations ` +
          `(the cap is ${questionsPerGroup}); wait for answers before asking more`,
      );
    }
  }

  /** Records a question, or returns the one already recorded with that id (`created` false). */
  record(input: NewQuestion): { question: Question; created: boolean } {
    const text = input.question.trim();
    if (text === "") throw new InvalidInputError("invalid question: it must not be empty");
    const options = [...new Set((input.options ?? []).map((o) => o.trim()).filter((o) => o !== ""))];
    // With no buttons, a free-text answer is the only kind there is.
    const freeform = options.length === 0 || input.allowFreeform === true;
    return this.#db.transaction(() => {
      // Recording the same question again is not a new one.
      if (!this.#db.get(`SELECT 1 FROM questions WHERE id = ?`, [input.id])) this.#checkRoom(input);
      const created = this.#db.run(
        `INSERT INTO questions (id, session_id, agent_group_id, question, options, allow_freeform, asked_at)
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
        [
          input.id,
          input.sessionId,
          input.agentGroupId,
          text,
          JSON.stringify(options),
          freeform ? 1 : 0,
          this.#now(),
        ],
      ) === 1;
      return { question: this.get(input.id), created };
    });
  }

  /** The question `id`. */
  get(id: string): Question {
    const row = this.#db.get(`SELECT ${COLUMNS} FROM questions WHERE id = ?`, [id]);
    if (!row) throw new NotFoundError("question", id);
    return decode(row);
  }

  /** Unanswered questions, oldest first. */
  pending(): Question[] {
    return this.#db.all(`SELECT ${COLUMNS} FROM questions WHERE answered_at IS NULL ORDER BY asked_at, id`)
      .map(decode);
  }

  /**
   * Records the answer. The same answer again returns the question unchanged
   * (so a retried answer is harmless); a different one is a
   * {@link ConflictError}. An answer outside the options of a buttons-only
   * question is an {@link InvalidInputError}.
   */
  answer(id: string, answer: string, answeredBy: string): Question {
    const text = answer.trim();
    if (text === "") throw new InvalidInputError("invalid answer: it must not be empty");
    if (text.length > MAX_ANSWER_CHARS) {
      throw new InvalidInputError(`invalid answer: longer than ${MAX_ANSWER_CHARS} characters`);
    }
    return this.#db.transaction(() => {
      const q = this.get(id);
      if (q.answeredAt !== null) {
        if (q.answer === text) return q;
        throw new ConflictError(`question ${id} was already answered by ${q.answeredBy}`);
      }
      if (!q.allowFreeform && !q.options.includes(text)) {
        throw new InvalidInputError(
          `invalid answer: choose one of ${q.options.map((o) => JSON.stringify(o)).join(", ")}`,
        );
      }
      this.#db.run("UPDATE questions SET answer = ?, answered_by = ?, answered_at = ? WHERE id = ?", [
        text,
        answeredBy,
        this.#now(),
        id,
      ]);
      return this.get(id);
    });
  }
}
