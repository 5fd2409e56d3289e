/**
 * Questions agents ask their humans: the durable store that `ask_user_question`
 * records into, and the desk that lists and answers them, feeding each answer
 * back into the asking session.
 *
 * @module
 */
export { MAX_ANSWER_CHARS, QuestionStore } from "./question_store.ts";
export type { NewQuestion, Question } from "./question_store.ts";
export { answerMessageId, formatAnswer, QuestionDesk } from "./desk.ts";
export type { QuestionDeskDeps } from "./desk.ts";
