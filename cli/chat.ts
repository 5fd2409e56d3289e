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

/** An open question the agent asked in the chat's conversation. */
export type ChatQuestion = InferResponseType<ApiRpc["v1"]["questions"]["$get"], 200>[number];

/** How often a turn in flight looks for a question the agent asked instead of answering. */
export const QUESTION_POLL_MS = 1_000;

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

/** Saves the cursor (DECSC); {@link RESTORE_CURSOR} puts it back. */
const SAVE_CURSOR = "\x1b7";
const RESTORE_CURSOR = "\x1b8";

/** One frame of the spinner: always as wide as the others, ending in two spaces (typed text goes after). */
export function spinnerFrame(label: string, frame: number, seconds: number): string {
  return `${FRAMES[frame % FRAMES.length]} ${label} ${String(seconds).padStart(4)}s  `;
}

/**
 * A spinner on stderr when it is a terminal; otherwise nothing. The person
 * may type while it turns (the terminal echoes it after the spinner), so a
 * redraw never moves the cursor: it saves it, rewrites the spinner at the
 * line's start (every frame as wide as the first) and restores it, leaving
 * the typed text where it is, unbroken.
 */
export function terminalSpinner(
  stream: { isTerminal(): boolean; writeSync(p: Uint8Array): number } = Deno.stderr,
  options: { intervalMs?: number } = {},
): Spinner {
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
      write(`\r${spinnerFrame(label, frame++, 0)}`);
      timer = setInterval(() => {
        const seconds = Math.floor((Date.now() - started) / 1000);
        write(`${SAVE_CURSOR}\r${spinnerFrame(label, frame++, seconds)}${RESTORE_CURSOR}`);
      }, options.intervalMs ?? 100);
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

/** How `chat` is reopened on this conversation (with `--chat-id` when it is not the default one). */
export function reopenCommand(agent: string, chatId: string): string {
  return `ironclaw chat ${agent}${chatId === defaultChatId(agent) ? "" : ` --chat-id ${chatId}`}`;
}

/**
 * The chat's conversation with one agent over the API. Replies stay on the
 * server until this client has shown them: each drain acknowledges (`after=`)
 * the replies the previous one returned, and {@link ChatSession.close}
 * acknowledges the last, so a client killed mid-wait loses nothing.
 */
export class ChatSession {
  /** Cursor of the last reply handed to this client (acknowledged by the next drain). */
  #after: number | undefined;
  /** The conversation's session, once a send has named it (its questions are looked up by it). */
  #sessionId: string | undefined;
  readonly #stop = new AbortController();

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
    this.#sessionId = sent.outcomes.find((o) => o.engaged && o.sessionId)?.sessionId ?? this.#sessionId;
    return sent;
  }

  /**
   * Replies not yet shown, waiting now or within `waitMs`; acknowledges the
   * ones the previous drain returned (the caller has shown them).
   */
  async drain(waitMs = 0): Promise<ChatReply[]> {
    const answer = await this.client.call((api) =>
      api.v1.ui.chat.drain.$get({
        query: {
          chatId: this.chatId,
          wait: waitMs > 0 ? String(waitMs) : undefined,
          after: this.#after === undefined ? undefined : String(this.#after),
        },
      }, { init: { signal: this.#stop.signal } })
    );
    if (answer.messages.length) this.#after = answer.messages.at(-1)!.seq;
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

  /** The questions the agent asked in this conversation and nobody answered yet, oldest first. */
  async openQuestions(): Promise<ChatQuestion[]> {
    if (this.#sessionId === undefined) return [];
    const open = await this.client.call((api) => api.v1.questions.$get());
    return open.filter((q) => q.sessionId === this.#sessionId);
  }

  /** Answers question `id`; the agent is woken with the answer. */
  async answer(id: string, text: string): Promise<void> {
    await this.client.call((api) =>
      api.v1.questions[":id"].answer.$post({
        param: { id: encodeURIComponent(id) },
        json: { answer: text, answeredBy: CONSOLE_USER_ID },
      })
    );
  }

  /** Ends a waiting drain, and acknowledges the replies shown so far (the server drops them). */
  async close(): Promise<void> {
    this.#stop.abort();
    if (this.#after === undefined) return;
    const after = String(this.#after);
    await this.client.call((api) => api.v1.ui.chat.drain.$get({ query: { chatId: this.chatId, after } }));
  }
}

/** The lines showing a question and how to answer it. */
export function describeQuestion(agent: string, q: ChatQuestion): string[] {
  const choices = q.options.length === 0
    ? "type your answer"
    : `answer ${q.options.join(" | ")}${q.allowFreeform ? ", or type your own" : ""}`;
  return [`${agent} asks: ${q.question}`, `  (${choices})`];
}

/** Sends one message and prints the reply; fails when none comes in time. */
export async function chatOnce(
  io: CliIo,
  session: ChatSession,
  text: string,
  opts: { timeoutMs: number; json?: boolean; spinner?: Spinner },
): Promise<ChatReply[]> {
  // Replies left over from an earlier, abandoned wait must not pass for this one's: shown apart, on stderr.
  for (const earlier of await session.drain()) io.err(`(earlier reply) ${session.agent}> ${earlier.content}`);
  let replies: ChatReply[];
  try {
    await session.send(text);
    opts.spinner?.start(`waiting for ${session.agent}…`);
    replies = await session.awaitReplies(opts.timeoutMs);
  } catch (err) {
    await session.close().catch(() => {});
    throw err;
  } finally {
    opts.spinner?.stop();
  }
  if (replies.length === 0) {
    await session.close();
    throw new CliError(
      `no reply from ${session.agent} within ${opts.timeoutMs / 1000}s (it may still answer: ` +
        `${reopenCommand(session.agent, session.chatId)} shows late replies)`,
    );
  }
  if (opts.json) printJson(io, replies);
  else for (const reply of replies) io.out(reply.content);
  await session.close();
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
  /** Clears the line the cursor is on (the prompt), so a message that arrives is printed on its own. */
  clearLine?(): void;
  spinner: Spinner;
}

/** `chatLoop`'s settings. */
export interface ChatLoopOptions {
  /** How long one turn waits for a reply. */
  timeoutMs: number;
  /** How often a turn in flight looks for a question (default {@link QUESTION_POLL_MS}). */
  questionPollMs?: number;
}

/**
 * The conversation: prompt, send, wait with a spinner, print. Between turns
 * it keeps listening, so a message that arrives while the prompt waits (a
 * scheduled task's output, a late reply) is shown at once; a question the
 * agent asks is shown with its choices and the next line answers it. `/quit`
 * or the end of input stops it; what was shown is acknowledged on the way out.
 */
export async function chatLoop(
  io: CliIo,
  session: ChatSession,
  terminal: ChatTerminal,
  opts: ChatLoopOptions,
): Promise<void> {
  io.out(`chatting with ${session.agent} (chat ${session.chatId}); /quit or Ctrl-D to leave`);
  const asked = new Set<string>();
  let question: ChatQuestion | undefined;
  let turn: Turn | undefined;
  let leaving = false;
  const promptText = () => (question ? "answer> " : "you> ");
  /** Prints lines between prompts: over the spinner or the waiting prompt, which comes back after. */
  const print = (lines: string[]) => {
    if (lines.length === 0) return;
    terminal.spinner.stop();
    terminal.clearLine?.();
    for (const line of lines) io.out(line);
    if (turn) turn.done();
    else terminal.prompt(promptText());
  };
  const showQuestions = async () => {
    const lines: string[] = [];
    for (const q of await session.openQuestions()) {
      if (asked.has(q.id)) continue;
      asked.add(q.id);
      question ??= q;
      lines.push(...describeQuestion(session.agent, q));
    }
    print(lines);
  };

  // What waited for this client (a reply an earlier, killed chat never showed) comes first, before any turn.
  print((await session.drain()).map((r) => `${session.agent}> ${r.content}`));
  // Then it listens for replies the whole time, one long poll after another.
  const listening = (async () => {
    while (!leaving) {
      try {
        print((await session.drain(DRAIN_WINDOW_MS)).map((r) => `${session.agent}> ${r.content}`));
        if (!turn) await showQuestions();
      } catch (err) {
        if (leaving) return;
        io.err(err instanceof CliError ? err.message : String(err));
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  })();

  /** A turn: settles when a reply or a question comes (true), or at the timeout (false). */
  const beginTurn = (): Turn & { answered: Promise<boolean> } => {
    let settle!: (came: boolean) => void;
    const answered = new Promise<boolean>((resolve) => settle = resolve);
    const timer = setTimeout(() => end(false), opts.timeoutMs);
    const poll = setInterval(
      () => void showQuestions().catch(() => {}),
      opts.questionPollMs ?? QUESTION_POLL_MS,
    );
    const end = (came: boolean) => {
      clearTimeout(timer);
      clearInterval(poll);
      turn = undefined;
      settle(came);
    };
    return { answered, done: () => end(true), cancel: () => end(false) };
  };

  try {
    terminal.prompt(promptText());
    for await (const line of terminal.lines) {
      const text = line.trim();
      if (text === "/quit" || text === "/exit") break;
      if (text !== "") {
        // The turn starts before the send, so a reply faster than the send's answer still ends it.
        const current = turn = beginTurn();
        try {
          const q = question;
          question = undefined;
          if (q) await session.answer(q.id, text);
          else await session.send(text);
          if (turn === current) terminal.spinner.start(`${session.agent} is working…`);
          if (!await current.answered) {
            io.err(
              `(no reply within ${opts.timeoutMs / 1000}s; it may still come here, or later with: ` +
                `${reopenCommand(session.agent, session.chatId)})`,
            );
          }
        } catch (err) {
          current.cancel();
          if (!(err instanceof CliError)) throw err;
          io.err(err.message);
        } finally {
          terminal.spinner.stop();
        }
      }
      terminal.prompt(promptText());
    }
  } finally {
    leaving = true;
    await session.close();
    await listening;
  }
}

/** A turn in flight: `done` when the agent answered (a reply or a question), `cancel` when the send failed. */
interface Turn {
  done(): void;
  cancel(): void;
}

function stdinTerminal(interactive: boolean): ChatTerminal {
  const encoder = new TextEncoder();
  return {
    lines: readLines(Deno.stdin.readable),
    // Piped input (a script) gets no prompt and no spinner: only the conversation.
    prompt: (text) => void (interactive && Deno.stdout.writeSync(encoder.encode(text))),
    clearLine: () => void (interactive && Deno.stdout.writeSync(encoder.encode("\r\x1b[2K"))),
    spinner: interactive ? terminalSpinner() : { start() {}, stop() {} },
  };
}

/** Registers `chat` on `program`. */
export function registerChatCommands(program: Command, io: CliIo): void {
  withClientFlags(
    program.command("chat")
      .description(
        "chat with an agent through the running control plane (as the local operator); " +
          "reads lines from standard input when it is not a terminal",
      )
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
    await chatLoop(io, session, stdinTerminal(io.interactive), { timeoutMs });
  });
}
