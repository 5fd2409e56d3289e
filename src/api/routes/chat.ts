/**
 * The web chat over HTTP: the console (or `ironclaw chat`) sends a message
 * to an agent as the local operator (`web:console`), and drains the agent's
 * replies, optionally waiting for the next one; a reply stays until the
 * client acknowledges it (`after=`).
 *
 * @module
 */
import { createRoute, z } from "@hono/zod-openapi";
import { AgentGroupId } from "../../../contract/mod.ts";
import { isSafeId } from "../../../contract/ids.ts";
import { MAX_CONTENT_CHARS } from "../../../contract/rows.ts";
import { MAX_DRAIN_WAIT_MS } from "../../channels/mod.ts";
import type { ControlPlane } from "../../control_plane/mod.ts";
import { NotFoundError } from "../../state/mod.ts";
import { routeGroup } from "../route_group.ts";
import { ApiError } from "../errors.ts";
import { errorAnswers, jsonAnswer, jsonBody } from "../openapi.ts";
import { edgeBody } from "../schemas.ts";

/** A chat (conversation) id: a safe id, since it names the chat on the `web` channel. */
const ChatId = z.string().refine(isSafeId, {
  message: "must be 1-128 letters, digits, '.', '_' or '-', start with a letter or digit, and hold no '..'",
});

const SendBody = edgeBody(
  z.strictObject({
    agentGroupId: AgentGroupId,
    text: z.string().trim().min(1, "must not be empty").max(MAX_CONTENT_CHARS),
    /** Which conversation with the agent (default: the agent's id, one conversation per agent). */
    chatId: ChatId.optional(),
  }),
).openapi("ChatSendBody");

const Outcome = z.object({
  wiringId: z.string(),
  agentGroupId: z.string(),
  sessionId: z.string().nullable(),
  engaged: z.boolean(),
  kind: z.string(),
  reason: z.string(),
  messageId: z.string().optional(),
  changeId: z.string().optional(),
  wakeError: z.string().optional(),
});

const SendAnswer = z.object({
  chatId: z.string(),
  /** True when some wiring engaged the agent: a reply is coming. */
  engaged: z.boolean(),
  outcomes: z.array(Outcome),
}).openapi("ChatSendAnswer");

const ChatItem = z.object({
  /** The reply's cursor: `after=<seq>` on the next drain acknowledges it and every earlier one. */
  seq: z.number().int(),
  id: z.string(),
  chatId: z.string(),
  threadId: z.string().nullable(),
  content: z.string(),
  timestamp: z.string(),
});

const DrainAnswer = z.object({ chatId: z.string(), messages: z.array(ChatItem) }).openapi("ChatDrainAnswer");

const DrainQuery = z.object({
  chatId: ChatId,
  /** Wait up to this many ms for a reply when none is waiting (0: answer at once). */
  wait: z.coerce.number().int().min(0).max(MAX_DRAIN_WAIT_MS).optional(),
  /**
   * Acknowledges the replies up to this cursor (the last `seq` the client
   * showed): they are removed before the answer. Replies are only removed so,
   * never by being handed out, so a client that dies mid-poll loses none.
   */
  after: z.coerce.number().int().min(0).optional(),
});

const send = createRoute({
  method: "post",
  path: "/v1/ui/chat/send",
  summary: "Send a message to an agent as the local operator; the routing outcome answers",
  request: { body: jsonBody(SendBody) },
  responses: {
    202: jsonAnswer(SendAnswer, "routed: engaged (a reply will follow) or not, with why"),
    // 503: the chat's session has a damaged queue file (it is parked; the error names the file).
    // 429: besides the rate limit, the chat's session is at its inbound backlog cap (`Retry-After`).
    ...errorAnswers(400, 413, 415, 503),
  },
});

const drain = createRoute({
  method: "get",
  path: "/v1/ui/chat/drain",
  summary:
    "The chat's unacknowledged replies, oldest first (after= acknowledges the ones shown); optionally waits for the next",
  request: { query: DrainQuery },
  responses: {
    200: jsonAnswer(DrainAnswer, "the replies (none when none came in time)"),
    ...errorAnswers(400),
  },
});

/** The web chat routes. */
export function webChatRoutes(plane: ControlPlane) {
  return routeGroup()
    .openapi(send, async (c) => {
      const { agentGroupId, text, chatId } = c.req.valid("json");
      try {
        const sent = await plane.webChat.send({ agentGroupId, text, conversationId: chatId });
        const damaged = sent.outcomes.find((o) => o.kind === "queue-damaged");
        if (damaged && !sent.engaged) {
          // Not queued anywhere: the conversation's session cannot take messages until an operator repairs it.
          throw new ApiError(503, `chat ${sent.conversationId}: ${damaged.reason}`);
        }
        return c.json({ chatId: sent.conversationId, engaged: sent.engaged, outcomes: sent.outcomes }, 202);
      } catch (err) {
        if (err instanceof NotFoundError && err.entity === "agent group") {
          throw new ApiError(400, `agentGroupId: ${err.message}`);
        }
        throw err;
      }
    })
    .openapi(drain, async (c) => {
      const { chatId, wait, after } = c.req.valid("query");
      if (after !== undefined) plane.webChat.acknowledge(chatId, after);
      // A client that goes away ends its wait: nothing is held for it (and nothing is removed).
      const items = await plane.webChat.drain(chatId, { waitMs: wait ?? 0, signal: c.req.raw.signal });
      return c.json({
        chatId,
        messages: items.map((i) => ({
          seq: i.seq,
          id: i.id,
          chatId: i.conversationId,
          threadId: i.threadId,
          content: i.content,
          timestamp: i.timestamp,
        })),
      }, 200);
    });
}
