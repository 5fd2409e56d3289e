/**
 * `ironclaw chat <agent>`: talk to an agent through the running control
 * plane's web chat, as the local operator. Interactive in a terminal (a
 * prompt, a spinner while the agent works, its replies); with `--message`
 * it sends one message, prints the reply and exits, for scripts and tests.
 *
 * Replies are long-polled (`GET /v1/ui/chat/drain?wait=`), so waiting costs
 * one request per wait window, not a busy loop.
 *
 * @module
 */
import type { Command } from "commander";
import type { InferResponseType } from "hono/client";
import type { ApiRpc } from "../src/api/mod.ts";
import { CONSOLE_USER_ID } from "../src/control_plane/mod.ts";
import { ApiClient, type ClientFlags, withClientFlags } from "./client.ts";
import { CliError } from "./errors.ts";
import { type CliIo, printJson } from "./output.ts";

/** Default wait for a reply, in seconds. */
export const DEFAULT_CHAT_TIMEOUT_S = 120;

/** One long-poll window, in ms: under the server's cap and the client's request timeout. */
export const DRAIN_WINDOW_MS = 20_000;

/** What `POST /v1/ui/chat/send` answers. */
export type ChatSendAnswer = InferResponseType<ApiRpc["v1"]["ui"]["chat"]["send"]["$post"], 202>;

/** One reply. */
export type ChatReply = InferResponseType<
  ApiRpc["v1"]["ui"]["chat"]["drain"]["$get"],
  200
>["messages"][number];

/** `chat`'s flags. */
export interface ChatFlags extends ClientFlags {
  message?: string;
  timeout?: string;
  chatId?: string;
  json?: boolean;
}

/** The chat the CLI uses with `agent` unless told otherwise (its own, apart from the console's). */
export function defaultChatId(agent: string): string {
  return `cli-${agent}`.slice(0, 128);
}

/** Parses `--timeout` (seconds, a positive number). */
export function parseTimeout(value: string | undefined): number {
  if (value === undefined) return DEFAULT_CHAT_TIMEOUT_S * 1000;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new CliError(`--timeout must be a positive number of seconds, got ${JSON.stringify(value)}`);
  }
  return Math.round(seconds * 1000);
}

/** Something shown while waiting; `stop` clears it. */
export interface Spinner {
  start(label: string): void;
  stop(): void;
}

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/** A spinner on stderr when it is a terminal; otherwise nothing. */
export function terminalSpinner(stream: typeof Deno.stderr = Deno.stderr): Spinner {
  const enabled = stream.isTerminal();
  const encoder = new TextEncoder();
  let timer: ReturnType<typeof setInterval> | undefined;
  const write = (text: string) => {
    try {
      stream.writeSync(encoder.encode(text));
    } catch { /* the terminal went away */ }
  };
  return {
    start(label) {
      if (!enabled || timer !== undefined) return;
      const started = Date.now();
      let frame = 0;
      timer = setInterval(() => {
        const seconds = Math.floor((Date.now() - started) / 1000);
        write(`\r${FRAMES[frame++ % FRAMES.length]} ${label} ${seconds}s`);
      }, 100);
    },
    stop() {
      if (timer === undefined) return;
      clearInterval(timer);
      timer = undefined;
      write("\r\x1b[2K");
    },
  };
}

/** The command that lets the local operator (who `chat` speaks as) talk to `agent`. */
export function grantAccessCommand(agent: string): string {
  return `ironclaw registry add-member --user ${CONSOLE_USER_ID} --agent ${agent}`;
}

/** The chat's conversation with one agent over the API. */
export class ChatSession {
  constructor(
    private readonly client: ApiClient,
    readonly agent: string,
    readonly chatId: string,
  ) {}

  /** Sends `text`; throws a {@link CliError} naming why when no wiring engaged the agent. */
  async send(text: string): Promise<ChatSendAnswer> {
    const sent = await this.client.call((api) =>
      api.v1.ui.chat.send.$post({ json: { agentGroupId: this.agent, text, chatId: this.chatId } })
    );
    if (!sent.engaged) {
      // The router's reasons already start with their kind ("access-denied: no-access").
      const why = sent.outcomes.map((o) => o.reason.startsWith(o.kind) ? o.reason : `${o.kind}: ${o.reason}`)
        .join("; ") || "no wiring";
      const denied = sent.outcomes.some((o) => o.kind === "access-denied");
      throw new CliError(
        `${this.agent} did not take the message (${why})` +
          (denied ? `; grant yourself access with: ${grantAccessCommand(this.agent)}` : ""),
      );
    }
    return sent;
  }

  /** Replies waiting now (each returned once), or within `waitMs`. */
  async drain(waitMs = 0): Promise<ChatReply[]> {
    const answer = await this.client.call((api) =>
      api.v1.ui.chat.drain.$get({
        query: { chatId: this.chatId, wait: waitMs > 0 ? String(waitMs) : undefined },
      })
    );
    return answer.messages;
  }

  /** Waits for at least one reply, up to `timeoutMs`; returns what came ([] on timeout). */
  async awaitReplies(timeoutMs: number): Promise<ChatReply[]> {
    const deadline = Date.now() + timeoutMs;
    for (let left = timeoutMs; left > 0; left = deadline - Date.now()) {
      const replies = await this.drain(Math.min(left, DRAIN_WINDOW_MS));
      if (replies.length > 0) return replies;
    }
    return [];
  }
}

/** Sends one message and prints the reply; fails when none comes in time. */
export async function chatOnce(
  io: CliIo,
  session: ChatSession,
  text: string,
  opts: { timeoutMs: number; json?: boolean; spinner?: Spinner },
): Promise<ChatReply[]> {
  // A reply left over from an earlier, abandoned wait must not pass for this one's.
  await session.drain();
  await session.send(text);
  opts.spinner?.start(`waiting for ${session.agent}…`);
  let replies: ChatReply[];
  try {
    replies = await session.awaitReplies(opts.timeoutMs);
  } finally {
    opts.spinner?.stop();
  }
  if (replies.length === 0) {
    throw new CliError(
      `no reply from ${session.agent} within ${opts.timeoutMs / 1000}s (it may still answer: ` +
        `ironclaw chat ${session.agent} shows late replies)`,
    );
  }
  if (opts.json) printJson(io, replies);
  else for (const reply of replies) io.out(reply.content);
  return replies;
}

/** Lines of text from a byte stream (standard input). */
export async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffered = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      yield buffered.slice(0, newline).replace(/\r$/, "");
      buffered = buffered.slice(newline + 1);
    }
  }
  if (buffered) yield buffered;
}

/** What the interactive loop reads and where it writes its prompt. */
export interface ChatTerminal {
  lines: AsyncIterable<string>;
  prompt(text: string): void;
  spinner: Spinner;
}

/** The interactive loop: prompt, send, wait with a spinner, print; `/quit` or end of input stops it. */
export async function chatLoop(
  io: CliIo,
  session: ChatSession,
  terminal: ChatTerminal,
  timeoutMs: number,
): Promise<void> {
  io.out(`chatting with ${session.agent} (chat ${session.chatId}); /quit or Ctrl-D to leave`);
  const printReplies = (replies: ChatReply[]) => {
    for (const reply of replies) io.out(`${session.agent}> ${reply.content}`);
  };
  printReplies(await session.drain());
  terminal.prompt("you> ");
  for await (const line of terminal.lines) {
    const text = line.trim();
    if (text === "/quit" || text === "/exit") break;
    if (text !== "") {
      try {
        await session.send(text);
        terminal.spinner.start(`${session.agent} is working…`);
        let replies: ChatReply[];
        try {
          replies = await session.awaitReplies(timeoutMs);
        } finally {
          terminal.spinner.stop();
        }
        if (replies.length === 0) io.err(`(no reply within ${timeoutMs / 1000}s; it may still come)`);
        printReplies(replies);
      } catch (err) {
        if (!(err instanceof CliError)) throw err;
        io.err(err.message);
      }
    }
    printReplies(await session.drain());
    terminal.prompt("you> ");
  }
}

function stdinTerminal(): ChatTerminal {
  const encoder = new TextEncoder();
  return {
    lines: readLines(Deno.stdin.readable),
    prompt: (text) => void Deno.stdout.writeSync(encoder.encode(text)),
    spinner: terminalSpinner(),
  };
}

/** Registers `chat` on `program`. */
export function registerChatCommands(program: Command, io: CliIo): void {
  withClientFlags(
    program.command("chat")
      .description("chat with an agent through the running control plane (as the local operator)")
      .argument("<agent>", "the agent group id, e.g. demo")
      .option("-m, --message <text>", "send one message, print the reply and exit (no prompt)")
      .option("--timeout <seconds>", `how long to wait for a reply (default ${DEFAULT_CHAT_TIMEOUT_S})`)
      .option("--chat-id <id>", "which conversation with the agent (default cli-<agent>)")
      .option("--json", "with --message: print the replies as JSON"),
  ).action(async (agent: string, opts: ChatFlags) => {
    const timeoutMs = parseTimeout(opts.timeout);
    const client = ApiClient.fromFlags(opts);
    const known = await client.answer(
      (api) => api.v1.registry["agent-groups"][":id"].$get({ param: { id: encodeURIComponent(agent) } }),
      [404],
    );
    if (known.status === 404) {
      throw new CliError(`no agent "${agent}" here: \`ironclaw agent list\` shows them`);
    }
    const session = new ChatSession(client, agent, opts.chatId ?? defaultChatId(agent));
    if (opts.message !== undefined) {
      await chatOnce(io, session, opts.message, { timeoutMs, json: opts.json, spinner: terminalSpinner() });
      return;
    }
    if (!io.interactive) {
      throw new CliError(
        "chat needs a terminal for the conversation; use --message TEXT to send one message",
      );
    }
    await chatLoop(io, session, stdinTerminal(), timeoutMs);
  });
}
