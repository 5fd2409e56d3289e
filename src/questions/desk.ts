/**
 * The question desk: where an operator (API, CLI, console) lists what the
 * agents asked and answers it. An answer is stored, then written into the
 * asking session as a triggering message and the session is woken, so the
 * agent carries on with it.
 *
 * @module
 */
import type { MessageIn } from "../../contract/rows.ts";
import type { SessionQueues, SessionWaker } from "../session/mod.ts";
import { writeOnce } from "../idempotent/mod.ts";
import type { Question, QuestionStore } from "./question_store.ts";

/** What the desk is built from. */
export interface QuestionDeskDeps {
  store: QuestionStore;
  queues: SessionQueues;
  waker: SessionWaker;
}

/** The inbound message id that carries the answer of question `id`. */
export function answerMessageId(id: string): string {
  return `answer_${id}`.slice(0, 160);
}

/** The text the agent receives for an answered question. */
export function formatAnswer(q: Question): string {
  return `The user answered your question.\nQuestion: ${q.question}\nAnswer: ${q.answer}`;
}

/** Lists and answers agents' questions. */
export class QuestionDesk {
  #d: QuestionDeskDeps;

  constructor(deps: QuestionDeskDeps) {
    this.#d = deps;
  }

  /** Unanswered questions, oldest first. */
  pending(): Question[] {
    return this.#d.store.pending();
  }

  /** One question. */
  get(id: string): Question {
    return this.#d.store.get(id);
  }

  /**
   * Answers question `id` as `answeredBy`, hands the answer to the asking
   * session (once, even when retried after a crash) and wakes it. A failed
   * wake is reported, not thrown: the answer is already queued.
   */
  async answer(
    id: string,
    answer: string,
    answeredBy: string,
  ): Promise<{ question: Question; message: string; wakeError?: string }> {
    const question = this.#d.store.answer(id, answer, answeredBy);
    const writer = await this.#d.queues.inboundWriter(question.sessionId);
    const row: Pick<MessageIn, "id" | "kind" | "content"> & { trigger: 1 } = {
      id: answerMessageId(id) as MessageIn["id"],
      kind: "chat",
      trigger: 1,
      content: formatAnswer(question),
    };
    writeOnce(writer, row);
    try {
      await this.#d.waker.wake(question.sessionId);
    } catch (err) {
      // The answer is queued; the session reads it when it next runs.
      return { question, message: row.id, wakeError: err instanceof Error ? err.message : String(err) };
    }
    return { question, message: row.id };
  }
}
