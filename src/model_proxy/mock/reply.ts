/**
 * What the mock model says, independent of API dialect.
 *
 * @module
 */

/** The parts of a conversation the mock looks at. */
export interface MockPrompt {
  /** Text of the last user message. */
  lastUserText: string;
  /** Content of the tool result in the last message, when it carries one. */
  toolResult?: string;
  /** Names of the tools the request offers. */
  tools: readonly string[];
}

/** The mock's answer: text, or a single tool call. */
export type MockReply =
  | { type: "text"; text: string }
  | { type: "tool"; id: string; name: string; input: Record<string, unknown> };

/** The id of the mock's tool call. */
export const MOCK_TOOL_CALL_ID = "mocktool_1";

const TOOL_DIRECTIVE = /tool:([A-Za-z0-9_]+)/;

/**
 * Deterministic reply: a tool result is acknowledged; `tool:<name> {json}`
 * calls an offered tool with the text from the first `{` to the last `}` as
 * its arguments (`{}` when there are none; a directive whose arguments are not
 * a JSON object is just text); anything else is echoed, without the origin
 * headers the agent puts on each message (`[chat via web demo]`).
 */
export function mockReply(prompt: MockPrompt): MockReply {
  if (prompt.toolResult !== undefined) {
    return { type: "text", text: `mock-agent tool result: ${prompt.toolResult}` };
  }
  const text = withoutOrigins(prompt.lastUserText).trim();
  const directive = TOOL_DIRECTIVE.exec(text);
  if (directive && prompt.tools.includes(directive[1])) {
    const input = toolInput(text.slice(directive.index + directive[0].length));
    if (input) return { type: "tool", id: MOCK_TOOL_CALL_ID, name: directive[1], input };
  }
  return { type: "text", text: `mock-agent received: ${text}` };
}

/**
 * The agent heads each message of a prompt with where it came from
 * (`[chat via web demo]`); the mock answers the messages themselves.
 */
const ORIGIN_HEADER = /^\[[a-z_]+ via [^\]\n]+\]\n/gm;

function withoutOrigins(text: string): string {
  return text.replace(ORIGIN_HEADER, "");
}

function toolInput(rest: string): Record<string, unknown> | undefined {
  const first = rest.indexOf("{");
  const last = rest.lastIndexOf("}");
  if (first < 0 || last < first) return {};
  try {
    const value: unknown = JSON.parse(rest.slice(first, last + 1));
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? value as Record<string, unknown>
      : undefined;
  } catch {
    return undefined;
  }
}

/** A plausible token count for `text` (about four characters a token). */
export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

/** A plausible token count for a reply. */
export function replyTokens(reply: MockReply): number {
  return estimateTokens(reply.type === "text" ? reply.text : reply.name + JSON.stringify(reply.input));
}
