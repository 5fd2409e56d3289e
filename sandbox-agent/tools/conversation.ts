/**
 * Tools about the conversation itself: `ask_user_question` and
 * `read_persona`.
 *
 * @module
 */
import { z } from "zod";
import { AskUserRequest, formatAskUserRequest } from "../../contract/actions.ts";
import { defineTool, type Tool, ToolError } from "./tool.ts";

/** `ask_user_question`: a question for the human, with optional choices. */
export const askUserQuestion: Tool = defineTool({
  name: "ask_user_question",
  description: "Ask the user a question (optionally with choices) when you need their decision to go on.",
  input: z.strictObject({
    question: z.string(),
    options: z.array(z.string()).optional().describe("choices to offer"),
    allow_freeform: z.boolean().optional().describe("whether an answer outside the choices is fine"),
  }),
  invoke({ question, options, allow_freeform }) {
    const kept = options?.map((o) => o.trim()).filter((o) => o !== "");
    const parsed = AskUserRequest.safeParse({
      action: "ask_user_question",
      question,
      ...(kept?.length ? { options: kept } : {}),
      ...(allow_freeform ? { allow_freeform } : {}),
    });
    if (!parsed.success) throw new ToolError(z.prettifyError(parsed.error));
    return {
      text: "question sent to the user; their answer will arrive as a new message",
      action: formatAskUserRequest(parsed.data),
    };
  },
});

/** `read_persona`: the persona the agent was launched with. There is no write counterpart. */
export const readPersona: Tool = defineTool({
  name: "read_persona",
  description: "Read the persona you were configured with (to change it, use request_capability_change).",
  input: z.strictObject({}),
  invoke: (_input, ctx) => ({ text: ctx.persona || "(no persona is configured for this agent)" }),
});
