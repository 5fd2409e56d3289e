/**
 * Token usage read from the upstream's own usage fields, never estimated:
 * Anthropic's `usage` (whole responses; `message_start` and `message_delta`
 * events when streaming) and OpenAI's `usage` (whole responses; the final
 * chunk of a stream, which the proxy asks for on every streaming request so
 * a sandbox cannot stream uncounted).
 *
 * @module
 */
import type { SessionId } from "../../contract/ids.ts";

/** Tokens one model call consumed. */
export interface ModelUsage {
  /** The model the request named (`unknown` when the body named none). */
  model: string;
  /** Prompt tokens, cache writes and reads included. */
  inputTokens: number;
  outputTokens: number;
}

/** Where the proxy reports usage, and asks whether a session may spend more. */
export interface UsageSink {
  /** Why `session` may not call a model now (its group's budget is spent); undefined when it may. */
  refusal?(session: SessionId): string | undefined;
  /** One call's usage (called once per call that reported any). Must not throw. */
  record(session: SessionId, usage: ModelUsage): void;
}

type Tokens = { input?: number; output?: number };

const count = (v: unknown) =>
  typeof v === "number" && Number.isFinite(v) && v >= 0 ? Math.floor(v) : undefined;

/** Reads one provider `usage` object (Anthropic or OpenAI field names). */
function readUsage(usage: unknown): Tokens | undefined {
  if (typeof usage !== "object" || usage === null) return undefined;
  const u = usage as Record<string, unknown>;
  const anthropicInput = [u.input_tokens, u.cache_creation_input_tokens, u.cache_read_input_tokens]
    .map(count).filter((n) => n !== undefined);
  const input = count(u.prompt_tokens) ??
    (anthropicInput.length ? anthropicInput.reduce((a, b) => a + b, 0) : undefined);
  const output = count(u.completion_tokens) ?? count(u.output_tokens);
  return input === undefined && output === undefined ? undefined : { input, output };
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text);
    return typeof value === "object" && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}

/** A request body read once: its bytes as forwarded, its text, and its JSON (undefined when not JSON). */
export interface PreparedRequest {
  /** The model the body names (`unknown` when none). */
  model: string;
  body: Uint8Array<ArrayBuffer>;
  text: string;
  json: unknown;
}

/**
 * The request's model, and its body as forwarded: a streaming OpenAI chat
 * completion gets `stream_options.include_usage`, so its last chunk says
 * what the stream cost. The body is decoded and parsed here once; the
 * in-process mock answers from the same parse.
 */
export function prepareRequest(path: string, body: Uint8Array<ArrayBuffer>): PreparedRequest {
  const text = new TextDecoder().decode(body);
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  const request = typeof json === "object" && json !== null ? json as Record<string, unknown> : undefined;
  const model = typeof request?.model === "string" && request.model ? request.model : "unknown";
  if (request?.stream !== true || !path.endsWith("/chat/completions")) return { model, body, text, json };
  const options = typeof request.stream_options === "object" && request.stream_options !== null
    ? request.stream_options
    : {};
  const rewritten = { ...request, stream_options: { ...options, include_usage: true } };
  const rewrittenText = JSON.stringify(rewritten);
  return { model, body: new TextEncoder().encode(rewrittenText), text: rewrittenText, json: rewritten };
}

/** The usage of a whole (non-streaming) JSON response, if it reported any. */
export function responseUsage(body: Uint8Array): Tokens | undefined {
  return readUsage(parseJson(new TextDecoder().decode(body))?.usage);
}

/**
 * Watches a server-sent-event stream pass by, unchanged, and keeps the usage
 * its events report: Anthropic's `message_start` carries the input (and a
 * first output count), `message_delta` the cumulative output; OpenAI's
 * final chunk carries both.
 */
export class StreamUsage {
  #tokens: Tokens = {};
  #pending = "";
  readonly #decoder = new TextDecoder();

  /** A pass-through transform feeding this scanner. */
  transform(): TransformStream<Uint8Array, Uint8Array> {
    return new TransformStream({
      transform: (chunk, controller) => {
        this.#feed(this.#decoder.decode(chunk, { stream: true }));
        controller.enqueue(chunk);
      },
      flush: () => this.#feed(this.#decoder.decode() + "\n"),
    });
  }

  /** What the stream reported so far; undefined when nothing. */
  tokens(): Tokens | undefined {
    return this.#tokens.input === undefined && this.#tokens.output === undefined ? undefined : this.#tokens;
  }

  #feed(text: string): void {
    const lines = (this.#pending + text).split(/\r?\n/);
    this.#pending = lines.pop() ?? "";
    for (const line of lines) {
      if (!line.startsWith("data:")) continue;
      const event = parseJson(line.slice(5).trim());
      if (!event) continue;
      const message = event.message as Record<string, unknown> | undefined;
      const found = readUsage(event.usage) ?? readUsage(message?.usage);
      if (!found) continue;
      this.#tokens = {
        input: found.input ?? this.#tokens.input,
        output: found.output ?? this.#tokens.output,
      };
    }
  }
}

/** A call's usage record, when the upstream reported any. */
export function modelUsage(model: string, tokens: Tokens | undefined): ModelUsage | undefined {
  if (!tokens) return undefined;
  return { model, inputTokens: tokens.input ?? 0, outputTokens: tokens.output ?? 0 };
}
