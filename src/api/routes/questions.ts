/**
 * Questions agents asked their humans (`ask_user_question`): the open ones,
 * and answering one, which hands the answer to the asking session and wakes it.
 *
 * @module
 */
import { createRoute, z } from "@hono/zod-openapi";
import { isSafeId, noControlChars } from "../../../contract/ids.ts";
import type { ControlPlane } from "../../control_plane/mod.ts";
import { MAX_ANSWER_CHARS } from "../../questions/mod.ts";
import { routeGroup } from "../route_group.ts";
import { errorAnswers, jsonAnswer, jsonBody } from "../openapi.ts";
import { edgeBody } from "../schemas.ts";

const QuestionView = z.object({
  id: z.string(),
  sessionId: z.string(),
  agentGroupId: z.string(),
  question: z.string(),
  /** The choices offered (empty: free text). */
  options: z.array(z.string()),
  allowFreeform: z.boolean(),
  askedAt: z.string(),
  answer: z.string().nullable(),
  answeredBy: z.string().nullable(),
  answeredAt: z.string().nullable(),
}).openapi("Question");

const QuestionIdParam = z.object({
  id: z.string().refine(isSafeId, { message: "must be a question id" }),
});

const AnswerBody = edgeBody(
  z.strictObject({
    answer: z.string().trim().min(1, "must not be empty").max(MAX_ANSWER_CHARS),
    /** Who answers: 1–200 characters on one line. */
    answeredBy: z.string().min(1).max(200).regex(noControlChars(), {
      message: "must be one line with no control characters",
    }),
  }),
).openapi("AnswerBody");

const AnswerResult = z.object({
  question: QuestionView,
  /** The inbound message that carries the answer to the agent. */
  message: z.string(),
  /** Set when the answer is queued but waking the session failed (it is read when the session next runs). */
  wakeError: z.string().optional(),
}).openapi("AnswerResult");

const open = createRoute({
  method: "get",
  path: "/v1/questions",
  summary: "Unanswered questions from agents, oldest first",
  responses: { 200: jsonAnswer(z.array(QuestionView), "open questions"), ...errorAnswers() },
});

const answer = createRoute({
  method: "post",
  path: "/v1/questions/{id}/answer",
  summary: "Answer a question; the answer goes to the asking session, which is woken",
  request: { params: QuestionIdParam, body: jsonBody(AnswerBody) },
  responses: {
    200: jsonAnswer(AnswerResult, "answered (the same answer again is harmless)"),
    ...errorAnswers(400, 404, 409, 413, 415),
  },
});

/** The question routes. */
export function questionRoutes(plane: ControlPlane) {
  return routeGroup()
    .openapi(open, (c) => c.json(plane.desk.pending(), 200))
    .openapi(answer, async (c) => {
      const { answer, answeredBy } = c.req.valid("json");
      return c.json(await plane.desk.answer(c.req.valid("param").id, answer, answeredBy), 200);
    });
}
