/**
 * The agent's conversation format, whatever the provider: Anthropic-shaped
 * messages of text, tool-use and tool-result blocks. Each backend translates
 * to and from its own wire. The schemas also validate history restored from
 * session state.
 *
 * @module
 */
import { z } from "zod";
import type { ProviderKind } from "../../contract/sockets.ts";

/** Plain text. */
export const TextBlock = z.object({ type: z.literal("text"), text: z.string() });
export type TextBlock = z.infer<typeof TextBlock>;

/** The model asks for a tool call. `input` is whatever the model sent; the tool validates it. */
export const ToolUseBlock = z.object({
  type: z.literal("tool_use"),
  id: z.string(),
  name: z.string(),
  input: z.unknown(),
});
export type ToolUseBlock = z.infer<typeof ToolUseBlock>;

/** A tool call's outcome, sent back to the model. */
export const ToolResultBlock = z.object({
  type: z.literal("tool_result"),
  tool_use_id: z.string(),
  content: z.string(),
  is_error: z.boolean().optional(),
});
export type ToolResultBlock = z.infer<typeof ToolResultBlock>;

/** Any block. */
export const Block = z.discriminatedUnion("type", [TextBlock, ToolUseBlock, ToolResultBlock]);
export type Block = z.infer<typeof Block>;

/** One message of the conversation. */
export const Message = z.object({ role: z.enum(["user", "assistant"]), content: z.array(Block) });
export type Message = z.infer<typeof Message>;

/** A tool as offered to the model. */
export interface ToolSpec {
  name: string;
  description: string;
  /** JSON Schema of the input object. */
  input_schema: { type: "object"; [key: string]: unknown };
}

/** One model call. */
export interface ConverseRequest {
  system: string;
  messages: Message[];
  tools: ToolSpec[];
}

/** The model's answer: the assistant message's blocks. */
export interface Turn {
  content: Block[];
  /** The provider's stop reason, normalised to Anthropic's words (`end_turn`, `tool_use`, `max_tokens`, …). */
  stopReason: string;
}

/** How one model call is made. */
export interface ConverseOptions {
  signal?: AbortSignal;
  /**
   * Called once the request is written to the model socket, the answer
   * still to come (not called when the call fails before that). Must not throw.
   */
  onSent?: () => void;
}

/** A model backend. */
export interface ModelClient {
  readonly provider: ProviderKind;
  readonly model: string;
  converse(request: ConverseRequest, options?: ConverseOptions): Promise<Turn>;
}

/**
 * A failed model call. `kind` and `status` are safe to log (the provider's
 * error type, or `connection`); the message may quote the provider.
 */
export class ModelError extends Error {
  override name = "ModelError";
  constructor(message: string, readonly kind: string, readonly status?: number, options?: ErrorOptions) {
    super(message, options);
  }
}

/** Wraps a failure that is not the provider's answer (a bug, a bad response shape). */
export function clientFailure(err: unknown): ModelError {
  return new ModelError(
    `model call failed: ${err instanceof Error ? err.message : String(err)}`,
    "client",
    undefined,
    {
      cause: err,
    },
  );
}

/** A user message holding `text`. */
export function userText(text: string): Message {
  return { role: "user", content: [{ type: "text", text }] };
}

/** The text blocks of `content`, joined. */
export function textOf(content: readonly Block[]): string {
  return content.flatMap((b) => b.type === "text" ? [b.text] : []).join("");
}
