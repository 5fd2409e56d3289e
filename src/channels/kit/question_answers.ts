/**
 * Answering an agent's question from a chat, the same on every channel:
 * what a text reply answers, and the answer given as a chat user, only when
 * that user may reach the agent (a role or membership) or the asking chat is
 * public.
 *
 * @module
 */
import type { Question, QuestionDesk } from "../../questions/mod.ts";
import type { Registry } from "../../registry/mod.ts";
import { ConflictError, InvalidInputError, NotFoundError } from "../../state/mod.ts";

/**
 * The question a chat message answers when it still waits for one
 * (`questionId` from where it was posted); undefined lets the message
 * through as chat (no such question, gone, or answered already).
 */
export function waitingQuestion(
  desk: Pick<QuestionDesk, "get">,
  questionId: string | undefined,
): Question | undefined {
  if (!questionId) return undefined;
  try {
    const question = desk.get(questionId);
    return question.answeredAt === null ? question : undefined;
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

/** The question and option a button press picks, or why not in a line for the presser. */
export function pressedOption(
  desk: Pick<QuestionDesk, "get">,
  choice: { questionId: string; index: number },
): { question: Question; option: string } | string {
  let question: Question;
  try {
    question = desk.get(choice.questionId);
  } catch (err) {
    if (err instanceof NotFoundError) return "That question no longer exists.";
    throw err;
  }
  const option = question.options[choice.index];
  return option === undefined ? "That option does not exist." : { question, option };
}

/** What text replying to `q` answers: one of its options (any case), else the text itself when free text is allowed. */
export function answerFromText(q: Question, text: string): string | undefined {
  const trimmed = text.trim();
  const option = q.options.find((o) => o.toLowerCase() === trimmed.toLowerCase());
  const answer = option ?? (q.allowFreeform ? trimmed : undefined);
  return answer === "" ? undefined : answer;
}

/**
 * Answers `q` with `how.answer` as `how.userId` (namespaced, `discord:42`)
 * when they may: the answered question, or why not in a line for them.
 */
export async function answerAs(
  q: Question,
  how: {
    registry: Pick<Registry, "canAccess" | "getSession" | "getMessagingGroup">;
    desk: Pick<QuestionDesk, "answer">;
    userId: string;
    answer: string;
  },
): Promise<Question | string> {
  const { registry } = how;
  // The policy of the conversation that asked (the question may sit in one of its threads).
  const chat = registry.getMessagingGroup(registry.getSession(q.sessionId).messagingGroupId);
  if (!registry.canAccess(how.userId, q.agentGroupId).allowed && chat.unknownSenderPolicy !== "public") {
    return "You may not answer this question.";
  }
  try {
    return (await how.desk.answer(q.id, how.answer, how.userId)).question;
  } catch (err) {
    if (err instanceof ConflictError || err instanceof InvalidInputError) return err.message;
    throw err;
  }
}
