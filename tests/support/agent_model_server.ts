/**
 * A fake model server for agent tests: HTTP on a unix socket, speaking the
 * Anthropic Messages API (`POST /v1/messages`) and OpenAI Chat Completions
 * (`POST …/chat/completions`), non-streaming. By default it answers like the
 * host's offline mock model:
 * - last message holds a tool result ⇒ `mock-agent tool result: <content>`;
 * - last user text holds `tool:<name> {json}` and that tool is offered ⇒ one
 *   tool call (id `mocktool_1`);
 * - otherwise ⇒ `mock-agent received: <last user text>`.
 *
 * A test may script answers with `respond`; every request is recorded.
 *
 * @module
 */

/** One request the server received. */
export interface ModelCall {
  host: string;
  path: string;
  headers: Headers;
  // deno-lint-ignore no-explicit-any
  body: any;
}

/** Answers a call; `undefined` falls back to the mock behaviour. */
export type Responder = (
  call: ModelCall,
  index: number,
) => Response | undefined | Promise<Response | undefined>;

/** A running fake. */
export interface FakeModelServer extends AsyncDisposable {
  readonly calls: ModelCall[];
  close(): Promise<void>;
}

/** Serves the fake on `socketPath` (resolves once listening). */
export async function serveFakeModel(socketPath: string, respond?: Responder): Promise<FakeModelServer> {
  const calls: ModelCall[] = [];
  const listening = Promise.withResolvers<void>();
  const server = Deno.serve({ path: socketPath, onListen: () => listening.resolve() }, async (req) => {
    const url = new URL(req.url);
    const call: ModelCall = {
      host: req.headers.get("host") ?? "",
      path: url.pathname,
      headers: req.headers,
      body: await req.json(),
    };
    calls.push(call);
    const scripted = await respond?.(call, calls.length - 1);
    if (scripted) return scripted;
    if (url.pathname.endsWith("/messages")) return Response.json(anthropicMock(call.body));
    if (url.pathname.endsWith("/chat/completions")) return Response.json(openaiMock(call.body));
    return new Response("not found", { status: 404 });
  });
  await listening.promise;
  const close = () => server.shutdown();
  return { calls, close, [Symbol.asyncDispose]: close };
}

/** An Anthropic message reply holding `text`. */
export function anthropicText(text: string): Response {
  return Response.json(anthropicMessage([{ type: "text", text }], "end_turn"));
}

/** An Anthropic reply asking for one tool call. */
export function anthropicToolUse(name: string, input: unknown, id = "toolu_1"): Response {
  return Response.json(anthropicMessage([{ type: "tool_use", id, name, input }], "tool_use"));
}

/** An Anthropic API error. */
export function anthropicError(status: number, type: string, message: string): Response {
  return Response.json({ type: "error", error: { type, message } }, { status });
}

/** The text of a content field in either wire format. */
export function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.filter((b) => b.type === "text").map((b) => b.text).join("");
}

const TOOL_DIRECTIVE = /tool:([A-Za-z_]+)/;

function toolDirective(text: string): { name: string; input: unknown } | undefined {
  const match = TOOL_DIRECTIVE.exec(text);
  if (!match) return undefined;
  const open = text.indexOf("{", match.index);
  const close = text.lastIndexOf("}");
  return { name: match[1], input: open >= 0 && close > open ? JSON.parse(text.slice(open, close + 1)) : {} };
}

function anthropicMessage(content: unknown[], stopReason: string) {
  return {
    id: "msg_fake",
    type: "message",
    role: "assistant",
    model: "mock-agent",
    content,
    stop_reason: stopReason,
    stop_sequence: null,
    usage: { input_tokens: 1, output_tokens: 1 },
  };
}

// deno-lint-ignore no-explicit-any
function anthropicMock(body: any) {
  const last = body.messages.at(-1);
  const result = Array.isArray(last.content)
    ? last.content.find((b: { type: string }) => b.type === "tool_result")
    : undefined;
  if (result) {
    return anthropicMessage([{
      type: "text",
      text: `mock-agent tool result: ${contentText(result.content)}`,
    }], "end_turn");
  }
  const text = contentText(last.content).trim();
  const directive = toolDirective(text);
  // deno-lint-ignore no-explicit-any
  if (directive && (body.tools ?? []).some((t: any) => t.name === directive.name)) {
    return anthropicMessage([{ type: "tool_use", id: "mocktool_1", ...directive }], "tool_use");
  }
  return anthropicMessage([{ type: "text", text: `mock-agent received: ${text}` }], "end_turn");
}

// deno-lint-ignore no-explicit-any
function openaiMock(body: any) {
  const last = body.messages.at(-1);
  const reply = (message: unknown, finish: string) => ({
    id: "chatcmpl_fake",
    object: "chat.completion",
    created: 0,
    model: "mock-agent",
    choices: [{ index: 0, message, finish_reason: finish }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  });
  if (last.role === "tool") {
    return reply(
      { role: "assistant", content: `mock-agent tool result: ${contentText(last.content)}` },
      "stop",
    );
  }
  const text = contentText(last.content).trim();
  const directive = toolDirective(text);
  // deno-lint-ignore no-explicit-any
  if (directive && (body.tools ?? []).some((t: any) => t.function.name === directive.name)) {
    const call = {
      id: "mocktool_1",
      type: "function",
      function: { name: directive.name, arguments: JSON.stringify(directive.input) },
    };
    return reply({ role: "assistant", content: null, tool_calls: [call] }, "tool_calls");
  }
  return reply({ role: "assistant", content: `mock-agent received: ${text}` }, "stop");
}
