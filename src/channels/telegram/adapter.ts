/**
 * The Telegram channel on grammY: updates in (long polling by default, or a
 * webhook handler for the HTTP layer), through the router; replies, files,
 * typing and questions out.
 *
 * - Every update is handled once: the next update id is kept durably in the
 *   state database and only advanced after the update's routing is written,
 *   so a restart neither loses nor repeats a message. An update that keeps
 *   failing is retried a few times, then skipped with an error in the log.
 * - Back-pressure is a final answer, not a failure: a message refused
 *   because its session is at its unanswered-backlog cap is consumed at
 *   once (cursor advanced, webhook answered 200), so one flooded chat never
 *   holds up the bot's other chats nor makes the poll loop back off. It
 *   starts no typing and fetches no file; the chat is told once per
 *   shedding episode (until a message of its session is accepted again), in
 *   a short reply to the refused message, to send it again in a moment.
 * - A message from `telegram:<user id>` in chat `<chat id>` (its forum topic
 *   is the thread) is routed; in groups a mention of the bot sets
 *   `mentioned`. When it engages an agent, the chat shows "typing" until
 *   the reply goes out.
 * - A message's attachment is fetched once the router writes the message to
 *   a session (never for a sender the policy drops), placed in the
 *   workspace of each session that takes it before that session is woken,
 *   and named in the message as the agent sees it; too big, or no room on
 *   the workspace volume, is said in that line instead.
 * - Replies thread onto the message they answer (`reply_parameters`, and
 *   `message_thread_id` in topics), are cut at 4096 characters, and each
 *   piece is recorded as sent so a retried reply sends only what is missing.
 * - Questions the agents ask (`ask_user_question`) are posted with one
 *   inline button per option; a press (or a reply to the question's message
 *   for a free-text answer) answers it through the question desk, which
 *   hands the answer to the agent. Only someone who may reach the agent may
 *   answer.
 * - The token stays in this process: errors and log lines are scrubbed.
 *
 * @module
 */
import type { CallbackQuery, Message, Update, User } from "grammy/types";
import { nowTimestamp, type Timestamp } from "../../../contract/time.ts";
import type { ChannelAdapter, ChannelFile, ChannelMessage, ChannelTarget } from "../../delivery/adapter.ts";
import { logger } from "../../log/mod.ts";
import type { Question, QuestionDesk } from "../../questions/mod.ts";
import { namespaceUserId } from "../../registry/identity.ts";
import type { Registry } from "../../registry/registry.ts";
import type { InboundEvent, RoutedSession, Router, RouteResult } from "../../router/router.ts";
import { SessionBacklogFullError } from "../../session/backlog.ts";
import { ConflictError, InvalidInputError, NotFoundError } from "../../state/errors.ts";
import type { StateDb } from "../../state/state_db.ts";
import { checkApiRoot, createBot, fileUrl, TELEGRAM_API_ROOT } from "./api.ts";
import {
  type Attachment,
  attachmentLine,
  attachmentOf,
  DEFAULT_MAX_FILE_BYTES,
  type InboundFiles,
  parseFileReply,
  safeFileName,
  tooLargeReason,
} from "./files.ts";
import { readCapped } from "../../http/mod.ts";
import { apiSignal, type Bot, InputFile, webhookCallback } from "./grammy.ts";
import { type BotIdentity, type ParsedMessage, parseMessage, TELEGRAM_CHANNEL } from "./inbound.ts";
import { answeredText, decodeAnswer, questionKeyboard, questionText } from "./questions.ts";
import { abortableSleep, type RetryOptions } from "./retry.ts";
import { describeTelegramError, TelegramApiError, toTelegramError } from "./secrets.ts";
import { splitMessage, TELEGRAM_CAPTION_LIMIT } from "./split.ts";
import { ChannelStore } from "./store.ts";
import { TypingIndicator } from "./typing.ts";

/** The updates the channel asks for. */
export const ALLOWED_UPDATES = ["message", "callback_query"] as const;

/** Attempts at one update before it is skipped. */
export const MAX_UPDATE_ATTEMPTS = 3;

/** How long message references are kept for threading replies. */
export const MESSAGE_REF_DAYS = 30;

/** What a chat is told, once per shedding episode, when its session refuses a message (a full backlog). */
export const BACKLOG_NOTICE =
  "I'm still working through earlier messages; please send this again in a moment.";

/**
 * Shedding sessions remembered at most. Each entry exists only while its
 * session refuses messages; the bound keeps sessions whose chat never
 * writes again from accumulating. Forgetting one costs one extra notice.
 */
const MAX_SHEDDING_SESSIONS = 10_000;

/**
 * How long a backlog notice may take, `retry_after` waits included. It is
 * sent off the update path, so this bounds only how long {@link
 * TelegramAdapter.stop} waits for it; a notice given up is retried with the
 * conversation's next refused message.
 */
const NOTICE_TIMEOUT_MS = 20_000;

/** What the adapter is built from. */
export interface TelegramAdapterDeps {
  /** The bot token (held here only; never logged). */
  token: string;
  /** The Bot API server (default Telegram's). */
  apiRoot?: string;
  state: StateDb;
  registry: Registry;
  router: Pick<Router, "route">;
  /** Where questions are listed and answered; without it questions are not posted. */
  desk?: Pick<QuestionDesk, "pending" | "get" | "answer">;
  /** Where inbound files are placed (the workspaces of the sessions a message goes to); without it attachments are only named. */
  files?: InboundFiles;
  /** Webhook mode: Telegram posts updates to `url`, handled by {@link TelegramAdapter.webhookHandler}. */
  webhook?: { url: string; secretToken?: string };
  /** Long polling: seconds a `getUpdates` waits (default 25), updates per call (default 100). */
  poll?: { timeoutSeconds?: number; limit?: number };
  retry?: RetryOptions;
  /** Typing indicator timing, or false for none. */
  typing?: { everyMs?: number; maxMs?: number } | false;
  /** How often pending questions are looked for while running (default 2 s). */
  questionPollMs?: number;
  now?: () => Timestamp;
}

/** What handling one update did. */
export interface HandledUpdate {
  updateId: number;
  kind: "routed" | "answered" | "refused" | "ignored" | "skipped";
  detail?: string;
  route?: RouteResult;
  questionId?: string;
  /** For a message its session refused (`refused`, at its backlog cap): that session. */
  sessionId?: string;
}

/** A file placed in a session's workspace for the message being routed. */
interface Placement {
  target: RoutedSession;
  relativePath: string;
}

/** Where a reply goes on Telegram. */
interface Destination {
  chatId: string;
  threadId?: number;
  replyTo?: number;
}

/** The Telegram channel adapter. */
export class TelegramAdapter implements ChannelAdapter {
  readonly name = TELEGRAM_CHANNEL;
  #d: TelegramAdapterDeps;
  #bot: Bot;
  #apiRoot: string;
  #store: ChannelStore;
  #typing?: TypingIndicator;
  #log = logger("channel", "telegram");
  #secret: string;
  #failures = new Map<number, number>();
  #chain: Promise<unknown> = Promise.resolve();
  #abort?: AbortController;
  #loop?: Promise<void>;
  #questionTimer?: ReturnType<typeof setInterval>;
  #posting?: Promise<number>;
  #running = false;
  /**
   * Sessions refusing messages (at their backlog cap) as seen here, each
   * with the conversations (chat and topic) told so in this episode. An
   * entry ends when a message is accepted into its session again. Memory
   * only: after a restart a chat may be told once more.
   */
  #shedding = new Map<string, Set<string>>();
  /** Backlog notices on their way (sent off the update path; awaited by {@link stop}). */
  #notices = new Set<Promise<void>>();

  constructor(deps: TelegramAdapterDeps) {
    this.#d = deps;
    this.#apiRoot = checkApiRoot(deps.apiRoot ?? TELEGRAM_API_ROOT);
    this.#bot = createBot({ token: deps.token, apiRoot: this.#apiRoot, retry: deps.retry });
    this.#store = new ChannelStore(deps.state, TELEGRAM_CHANNEL, { now: deps.now });
    this.#secret = deps.webhook?.secretToken ?? randomSecret();
    if (deps.typing !== false) {
      this.#typing = new TypingIndicator({
        send: (chatId, threadId) => this.#sendTyping(chatId, threadId),
        everyMs: deps.typing?.everyMs,
        maxMs: deps.typing?.maxMs,
        onError: (err) => this.#warn("typing indicator failed in a chat: {error}", err),
      });
    }
    this.#bot.use(async (ctx) => {
      await this.#processCounting(ctx.update);
    });
  }

  /** Who the bot is; available after {@link start} or the first poll. */
  get identity(): BotIdentity | undefined {
    return this.#bot.isInited()
      ? { id: this.#bot.botInfo.id, username: this.#bot.botInfo.username }
      : undefined;
  }

  /**
   * Starts receiving: `getMe`, then either the long-polling loop (after
   * removing any webhook) or the webhook's registration, and the question
   * poster. Resolves once the loop runs; Telegram being unreachable is
   * logged and retried in the background, never thrown.
   */
  start(): Promise<void> {
    if (this.#running) return Promise.resolve();
    this.#running = true;
    this.#abort = new AbortController();
    this.#store.pruneMessages(daysAgo(this.#now(), MESSAGE_REF_DAYS));
    this.#loop = this.#run(this.#abort.signal);
    if (this.#d.desk) {
      this.#questionTimer = setInterval(() => {
        this.postQuestions().catch((err) => this.#warn("posting questions failed: {error}", err));
      }, this.#d.questionPollMs ?? 2_000);
    }
    return Promise.resolve();
  }

  /**
   * Stops polling (cutting the long poll short), the question poster and
   * typing; waits for work in progress, backlog notices on their way
   * included (those are sent for updates from {@link pollOnce} and the
   * webhook too, so they are waited for even when {@link start} was not).
   */
  async stop(): Promise<void> {
    if (this.#running) {
      this.#running = false;
      this.#abort?.abort(new Error("the Telegram channel is stopping"));
      clearInterval(this.#questionTimer);
      this.#typing?.stopAll();
      await this.#loop;
      await this.#chain.catch(() => {});
      await this.#posting?.catch(() => {});
    }
    await Promise.all(this.#notices);
  }

  async #run(signal: AbortSignal): Promise<void> {
    let backoff = 1_000;
    const pause = async () => {
      await abortableSleep(backoff, signal).catch(() => {});
      backoff = Math.min(backoff * 2, 60_000);
    };
    while (this.#running) {
      try {
        await this.#ensureInit(signal);
        if (this.#d.webhook) {
          await this.#call("setWebhook", () =>
            this.#bot.api.setWebhook(this.#d.webhook!.url, {
              secret_token: this.#secret,
              allowed_updates: [...ALLOWED_UPDATES],
              max_connections: 1,
            }, apiSignal(signal)));
          this.#log.info("Telegram webhook registered for bot @{bot}", { bot: this.identity?.username });
          return;
        }
        await this.#call("deleteWebhook", () => this.#bot.api.deleteWebhook({}, apiSignal(signal)));
        this.#log.info("Telegram long polling started for bot @{bot}", { bot: this.identity?.username });
        break;
      } catch (err) {
        if (!this.#running) return;
        this.#warn("Telegram is not reachable yet, retrying: {error}", err);
        await pause();
      }
    }
    while (this.#running) {
      try {
        await this.pollOnce({ signal });
        backoff = 1_000;
      } catch (err) {
        if (!this.#running) return;
        this.#warn("polling Telegram failed, retrying: {error}", err);
        await pause();
      }
    }
  }

  /**
   * One `getUpdates` from the durable cursor, each update handled in order.
   * Throws (after handling the updates before it) when an update fails and
   * may still succeed on a later try. A message refused by back-pressure is
   * handled (`refused`), not a failure.
   */
  async pollOnce(options: { timeoutSeconds?: number; signal?: AbortSignal } = {}): Promise<HandledUpdate[]> {
    await this.#ensureInit(options.signal);
    const offset = this.#store.cursor();
    const updates = await this.#call("getUpdates", () =>
      this.#bot.api.getUpdates({
        offset: offset > 0 ? offset : undefined,
        timeout: options.timeoutSeconds ?? this.#d.poll?.timeoutSeconds ?? 25,
        limit: this.#d.poll?.limit ?? 100,
        allowed_updates: [...ALLOWED_UPDATES],
      }, apiSignal(options.signal)));
    const handled: HandledUpdate[] = [];
    for (const update of updates) handled.push(await this.#processCounting(update));
    return handled;
  }

  /** True when Telegram posts updates to our webhook instead of being polled. */
  get webhookMode(): boolean {
    return this.#d.webhook !== undefined;
  }

  /**
   * The webhook endpoint for the HTTP layer to mount (POST): checks
   * Telegram's secret header, handles the update, answers 200; a failure
   * answers 500 so Telegram sends it again. A message refused by
   * back-pressure is handled (200): a redelivery would only be refused
   * again, and would hold up the updates behind it.
   */
  webhookHandler(): (request: Request) => Promise<Response> {
    const callback = webhookCallback(this.#bot, "std/http", {
      secretToken: this.#secret,
      onTimeout: "return",
      timeoutMilliseconds: 50_000,
    });
    return async (request) => {
      try {
        await this.#ensureInit();
        return await callback(request);
      } catch (err) {
        this.#warn("a webhook update failed (Telegram will resend it): {error}", err);
        return new Response("update failed", { status: 500 });
      }
    };
  }

  // ── Updates ─────────────────────────────────────────────────────────────

  /** Handles one update; counts failures and skips an update that failed too often. */
  async #processCounting(update: Update): Promise<HandledUpdate> {
    try {
      const handled = await this.#process(update);
      this.#failures.delete(update.update_id);
      return handled;
    } catch (err) {
      const attempts = (this.#failures.get(update.update_id) ?? 0) + 1;
      if (attempts < MAX_UPDATE_ATTEMPTS) {
        this.#failures.set(update.update_id, attempts);
        throw err;
      }
      this.#failures.delete(update.update_id);
      this.#store.advanceCursor(update.update_id + 1);
      const detail = describeTelegramError(err, this.#d.token);
      this.#log.error("Telegram update {updateId} skipped after {attempts} failed attempts: {error}", {
        updateId: update.update_id,
        attempts,
        error: detail,
      });
      return { updateId: update.update_id, kind: "skipped", detail };
    }
  }

  /** Handles `update` once: updates below the durable cursor are skipped; the cursor moves after success. */
  #process(update: Update): Promise<HandledUpdate> {
    const run = async (): Promise<HandledUpdate> => {
      if (update.update_id < this.#store.cursor()) {
        return { updateId: update.update_id, kind: "skipped", detail: "already handled" };
      }
      const handled = await this.#dispatch(update);
      this.#store.advanceCursor(update.update_id + 1);
      return handled;
    };
    const next = this.#chain.then(run, run);
    this.#chain = next.catch(() => {});
    return next;
  }

  #dispatch(update: Update): Promise<HandledUpdate> {
    if (update.message) return this.#message(update.update_id, update.message);
    if (update.callback_query) return this.#callback(update.update_id, update.callback_query);
    return Promise.resolve({ updateId: update.update_id, kind: "ignored", detail: "not a message" });
  }

  async #message(updateId: number, msg: Message): Promise<HandledUpdate> {
    const attachment = attachmentOf(msg);
    const parsed = parseMessage(msg, this.identity!, attachment !== undefined);
    if (typeof parsed === "string") return { updateId, kind: "ignored", detail: parsed };
    if (parsed.replyTo && this.#d.desk) {
      const questionId = this.#store.questionAt(parsed.chatId, parsed.replyTo.messageId);
      if (questionId) {
        const answered = await this.#answerByReply(updateId, parsed, questionId);
        if (answered) return answered;
      }
    }
    const placed: Placement[] = [];
    const event = attachment ? this.#withAttachment(parsed, attachment, placed) : parsed.event;
    let route: RouteResult;
    try {
      route = await this.#d.router.route(event);
    } catch (err) {
      await this.#withdraw(placed, new Set());
      if (err instanceof SessionBacklogFullError) return this.#refuseBacklog(updateId, parsed, err);
      throw err;
    }
    // A file whose message was refused by its session (a full backlog, a damaged queue) is taken back.
    await this.#withdraw(placed, new Set(route.outcomes.filter((o) => o.messageId).map((o) => o.sessionId)));
    for (const o of route.outcomes) {
      if (!o.messageId) continue;
      this.#store.recordMessage(o.messageId, 0, parsed.chatId, parsed.messageId);
      // The session takes messages again: its shedding episode is over, the next refusal is told anew.
      if (o.sessionId) this.#shedding.delete(o.sessionId);
    }
    if (route.outcomes.some((o) => o.engaged)) {
      await this.#typing?.start(parsed.chatId, parsed.event.threadId);
    }
    return { updateId, kind: "routed", route };
  }

  /**
   * A message its session refused at its backlog cap (queued nowhere): a
   * final answer, so the update counts as handled and is never retried
   * (retrying would only stall every chat behind it). No typing starts and
   * no file was fetched (the router refuses before asking for content).
   * The conversation is told once per episode, in a reply to this message,
   * sent off the update path so a slow or rate-limited send holds up no
   * other chat.
   */
  #refuseBacklog(updateId: number, p: ParsedMessage, err: SessionBacklogFullError): HandledUpdate {
    const conversation = `${p.chatId}/${p.event.threadId ?? ""}`;
    let told = this.#shedding.get(err.sessionId);
    if (!told) {
      if (this.#shedding.size >= MAX_SHEDDING_SESSIONS) {
        this.#shedding.delete(this.#shedding.keys().next().value!);
      }
      told = new Set();
      this.#shedding.set(err.sessionId, told);
    }
    const tell = !told.has(conversation);
    if (tell) {
      told.add(conversation);
      const dest: Destination = {
        chatId: p.chatId,
        replyTo: Number(p.messageId),
        ...threadOf(p.event.threadId),
      };
      // Not cut short by stop(), which waits for it: a notice is one short call, bounded on its own.
      const sending = this.#notice(dest, BACKLOG_NOTICE, AbortSignal.timeout(NOTICE_TIMEOUT_MS)).then(
        (sent) => {
          // Not delivered: the conversation's next refused message tries again.
          if (!sent) told.delete(conversation);
        },
      );
      this.#notices.add(sending);
      void sending.finally(() => this.#notices.delete(sending));
    }
    // Ids and counts only: the message's text stays out of the log.
    this.#log.info(
      "Telegram update {updateId} in chat {chatId} refused: session {sessionId} is at its backlog cap " +
        "({backlog} unanswered, cap {cap}){told}",
      {
        updateId,
        chatId: p.chatId,
        sessionId: err.sessionId,
        backlog: err.backlog,
        cap: err.cap,
        told: tell ? "; the chat is asked to send it again" : "",
      },
    );
    return { updateId, kind: "refused", detail: `backlog-full: ${err.message}`, sessionId: err.sessionId };
  }

  /**
   * The router event of a message with an attachment. Its text names the
   * attachment (engage patterns see that, as before). The file is fetched
   * only once the router writes the message to some session, so a sender
   * the policy drops costs no download and leaves no file; it is fetched
   * once however many sessions take the message, and placed in each one's
   * workspace before that session is woken, its line naming the path the
   * agent sees. What was placed is added to `placed`.
   */
  #withAttachment(p: ParsedMessage, a: Attachment, placed: Placement[]): InboundEvent {
    const withLine = (line: string) => [p.event.text, line].filter((t) => t.trim() !== "").join("\n");
    const files = this.#d.files;
    if (!files) {
      return {
        ...p.event,
        text: withLine(attachmentLine(a, { error: "files are not enabled on this host" })),
      };
    }
    const max = files.maxBytes ?? DEFAULT_MAX_FILE_BYTES;
    if (a.size !== undefined && a.size > max) {
      return { ...p.event, text: withLine(attachmentLine(a, { error: tooLargeReason(a.size, max) })) };
    }
    let download: Promise<Uint8Array | { error: string }> | undefined;
    return {
      ...p.event,
      text: withLine(attachmentLine(a, "pending")),
      contentFor: async (target) => {
        download ??= this.#download(p, a, max);
        const bytes = await download;
        if (!(bytes instanceof Uint8Array)) return withLine(attachmentLine(a, bytes));
        const file = await files.place(target, a.name, bytes);
        if (!file.ok) return withLine(attachmentLine(a, { error: file.error }));
        placed.push({ target, relativePath: file.relativePath });
        return withLine(attachmentLine(a, file));
      },
    };
  }

  /** The attachment's bytes (at most `max`), or why they could not be had. */
  async #download(p: ParsedMessage, a: Attachment, max: number): Promise<Uint8Array | { error: string }> {
    try {
      const file = await this.#call("getFile", () => this.#bot.api.getFile(a.fileId));
      if (file.file_size !== undefined && file.file_size > max) {
        return { error: tooLargeReason(file.file_size, max) };
      }
      if (!file.file_path) throw new Error("the server gave no file path");
      const response = await fetch(fileUrl(this.#apiRoot, this.#d.token, file.file_path), {
        signal: AbortSignal.timeout(120_000),
      });
      if (!response.ok || !response.body) {
        await response.body?.cancel();
        throw new Error(`download failed: HTTP ${response.status}`);
      }
      return await readCapped(response.body, max) ?? { error: tooLargeReason(undefined, max) };
    } catch (err) {
      this.#warn("an attachment in chat {chatId} was not fetched: {error}", err, { chatId: p.chatId });
      return { error: "the download from Telegram failed" };
    }
  }

  /** Takes back the placed files of sessions not in `kept`. */
  async #withdraw(placed: Placement[], kept: Set<string | null>): Promise<void> {
    for (const { target, relativePath } of placed) {
      if (!kept.has(target.sessionId)) await this.#d.files?.withdraw(target, relativePath);
    }
  }

  // ── Questions ───────────────────────────────────────────────────────────

  /**
   * Posts every unanswered question of a Telegram conversation not posted
   * yet (once each, durably); returns how many were posted. One failing is
   * logged and left for the next round.
   */
  postQuestions(): Promise<number> {
    if (!this.#d.desk) return Promise.resolve(0);
    if (this.#posting) return this.#posting;
    this.#posting = this.#postQuestions().finally(() => this.#posting = undefined);
    return this.#posting;
  }

  async #postQuestions(): Promise<number> {
    const { registry, desk } = this.#d;
    let posted = 0;
    for (const q of desk!.pending()) {
      if (this.#store.question(q.id)) continue;
      let chatId: string, threadId: string | null;
      try {
        const session = registry.getSession(q.sessionId);
        const chat = registry.getMessagingGroup(session.messagingGroupId);
        if (chat.channelType !== TELEGRAM_CHANNEL) continue;
        chatId = chat.platformId;
        threadId = session.threadId ?? null;
      } catch (err) {
        if (err instanceof NotFoundError) continue;
        throw err;
      }
      try {
        const keyboard = questionKeyboard(q);
        const sent = await this.#call(
          "sendMessage",
          () =>
            this.#bot.api.sendMessage(chatId, questionText(q, keyboard !== undefined), {
              ...threadOption(threadId),
              ...(keyboard ? { reply_markup: keyboard } : {}),
            }),
        );
        this.#store.recordQuestion(q.id, chatId, String(sent.message_id));
        this.#typing?.stop(chatId, threadId);
        posted++;
      } catch (err) {
        this.#warn("question {questionId} could not be posted yet: {error}", err, { questionId: q.id });
      }
    }
    return posted;
  }

  async #callback(updateId: number, cq: CallbackQuery): Promise<HandledUpdate> {
    const refuse = async (detail: string, alert = false): Promise<HandledUpdate> => {
      await this.#ack(cq.id, detail, alert);
      return { updateId, kind: "refused", detail };
    };
    const choice = cq.data ? decodeAnswer(cq.data) : undefined;
    if (!choice || !this.#d.desk) {
      await this.#ack(cq.id);
      return { updateId, kind: "ignored", detail: "not a question button" };
    }
    const posted = this.#store.question(choice.questionId);
    const msg = cq.message;
    if (
      !posted || !msg || posted.chatId !== String(msg.chat.id) || posted.messageId !== String(msg.message_id)
    ) {
      return await refuse("This button does not belong to a question here.");
    }
    let question: Question;
    try {
      question = this.#d.desk.get(choice.questionId);
    } catch (err) {
      if (err instanceof NotFoundError) return await refuse("That question no longer exists.");
      throw err;
    }
    const option = question.options[choice.index];
    if (option === undefined) return await refuse("That option does not exist.");
    const outcome = await this.#answer(question, option, cq.from, posted.chatId, posted.messageId);
    if (outcome !== "answered") return await refuse(outcome, true);
    await this.#ack(cq.id, `Answered: ${option}`);
    return { updateId, kind: "answered", questionId: question.id };
  }

  /** A reply to a posted question answers it; undefined lets the message through as chat. */
  async #answerByReply(
    updateId: number,
    p: ParsedMessage,
    questionId: string,
  ): Promise<HandledUpdate | undefined> {
    let question: Question;
    try {
      question = this.#d.desk!.get(questionId);
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
    if (question.answeredAt !== null) return undefined;
    const text = p.event.text.trim();
    const option = question.options.find((o) => o.toLowerCase() === text.toLowerCase());
    const answer = option ?? (question.allowFreeform ? text : undefined);
    const dest: Destination = {
      chatId: p.chatId,
      replyTo: Number(p.messageId),
      ...threadOf(p.event.threadId),
    };
    if (answer === undefined || answer === "") {
      await this.#notice(dest, `Please answer with one of: ${question.options.join(", ")}`);
      return { updateId, kind: "refused", detail: "not one of the options" };
    }
    const from = { id: Number(p.event.senderHandle) } as User;
    const outcome = await this.#answer(question, answer, from, p.chatId, p.replyTo!.messageId);
    if (outcome !== "answered") {
      await this.#notice(dest, outcome);
      return { updateId, kind: "refused", detail: outcome };
    }
    return { updateId, kind: "answered", questionId };
  }

  /** Answers `q` as the Telegram user `from` if they may; "answered", or why not. */
  async #answer(q: Question, answer: string, from: User, chatId: string, messageId: string): Promise<string> {
    const { registry, desk } = this.#d;
    const userId = namespaceUserId(TELEGRAM_CHANNEL, String(from.id));
    const chat = registry.getOrCreateMessagingGroup({ channelType: TELEGRAM_CHANNEL, platformId: chatId });
    if (!registry.canAccess(userId, q.agentGroupId).allowed && chat.unknownSenderPolicy !== "public") {
      return "You may not answer this question.";
    }
    let answered: Question;
    try {
      ({ question: answered } = await desk!.answer(q.id, answer, userId));
    } catch (err) {
      if (err instanceof ConflictError || err instanceof InvalidInputError) return err.message;
      throw err;
    }
    const by = from.username ? `@${from.username}` : from.first_name ?? userId;
    try {
      await this.#call(
        "editMessageText",
        () => this.#bot.api.editMessageText(chatId, Number(messageId), answeredText(answered, by)),
      );
    } catch (err) {
      this.#warn("the answered question {questionId} was not updated in its chat: {error}", err, {
        questionId: q.id,
      });
    }
    return "answered";
  }

  async #ack(callbackQueryId: string, text?: string, alert = false): Promise<void> {
    try {
      await this.#call("answerCallbackQuery", () =>
        this.#bot.api.answerCallbackQuery(callbackQueryId, {
          ...(text ? { text: text.slice(0, 200) } : {}),
          ...(alert ? { show_alert: true } : {}),
        }));
    } catch (err) {
      this.#warn("a button press was not acknowledged: {error}", err);
    }
  }

  /** Sends `text` to `dest`; true once sent, false (logged) when it could not be. */
  async #notice(dest: Destination, text: string, signal?: AbortSignal): Promise<boolean> {
    try {
      await this.#call(
        "sendMessage",
        () => this.#bot.api.sendMessage(dest.chatId, text, sendOptions(dest), apiSignal(signal)),
      );
      return true;
    } catch (err) {
      this.#warn("a notice to chat {chatId} failed: {error}", err, { chatId: dest.chatId });
      return false;
    }
  }

  // ── Sending ─────────────────────────────────────────────────────────────

  /**
   * Sends a reply: a `send_file` reply as a document, anything else as text
   * in pieces of at most 4096 characters; pieces already sent (before a
   * crash or a failed piece) are not sent again. Resolves to the Telegram
   * message ids, comma-separated. A chat that refuses the bot for good (400,
   * 403) is logged and the reply dropped (null); anything else throws so
   * delivery retries.
   */
  async deliver(message: ChannelMessage): Promise<string | null> {
    const dest = this.#destination(message);
    this.#typing?.stop(dest.chatId, message.threadId);
    try {
      const document = parseFileReply(message.content);
      if (document) {
        return await this.#once(message.id, 0, dest.chatId, () =>
          this.#sendDocument(dest, {
            name: document.name,
            bytes: document.bytes,
            caption: document.caption,
          }));
      }
      const pieces = splitMessage(message.content);
      const ids: string[] = [];
      for (const [i, piece] of pieces.entries()) {
        const target = i === 0 ? dest : { ...dest, replyTo: undefined };
        ids.push(
          await this.#once(message.id, i, dest.chatId, async () => {
            const sent = await this.#call(
              "sendMessage",
              () => this.#bot.api.sendMessage(dest.chatId, piece, sendOptions(target)),
            );
            return String(sent.message_id);
          }),
        );
      }
      return ids.length > 0 ? ids.join(",") : null;
    } catch (err) {
      if (err instanceof TelegramApiError && err.permanent) {
        this.#log.error("reply {messageId} to chat {chatId} dropped: Telegram refused it ({error})", {
          messageId: message.id,
          chatId: dest.chatId,
          error: err.message,
        });
        return null;
      }
      throw err;
    }
  }

  /** Sends `file` as a document to the target chat (and thread). */
  async sendFile(target: ChannelTarget, file: ChannelFile): Promise<string | null> {
    const dest: Destination = {
      chatId: target.platformId,
      ...threadOf(target.threadId),
      ...this.#replyTo(target.inReplyTo ?? null, target.platformId),
    };
    return await this.#sendDocument(dest, file);
  }

  /** Shows "typing" in the target chat until the next reply there. */
  async setTyping(target: ChannelTarget): Promise<void> {
    await this.#typing?.start(target.platformId, target.threadId);
  }

  async #sendDocument(dest: Destination, file: ChannelFile): Promise<string> {
    const caption = file.caption?.slice(0, TELEGRAM_CAPTION_LIMIT);
    const sent = await this.#call(
      "sendDocument",
      () =>
        this.#bot.api.sendDocument(dest.chatId, new InputFile(file.bytes, safeFileName(file.name)), {
          ...sendOptions(dest),
          ...(caption ? { caption } : {}),
        }),
    );
    return String(sent.message_id);
  }

  /** Runs `send` unless piece `part` of `ref` was sent already; records it once sent. */
  async #once(ref: string, part: number, chatId: string, send: () => Promise<string>): Promise<string> {
    const done = this.#store.sentParts(ref).get(part);
    if (done !== undefined) return done;
    const id = await send();
    this.#store.recordMessage(ref, part, chatId, id);
    return id;
  }

  #destination(message: ChannelMessage): Destination {
    return {
      chatId: message.platformId,
      ...threadOf(message.threadId),
      ...this.#replyTo(message.inReplyTo, message.platformId),
    };
  }

  /** The Telegram message an inbound row came from, when it is in `chatId`. */
  #replyTo(inReplyTo: string | null, chatId: string): { replyTo?: number } {
    if (!inReplyTo) return {};
    const ref = this.#store.message(inReplyTo);
    return ref && ref.chatId === chatId ? { replyTo: Number(ref.messageId) } : {};
  }

  async #sendTyping(chatId: string, threadId: string | null): Promise<void> {
    await this.#call(
      "sendChatAction",
      () =>
        this.#bot.api.sendChatAction(
          chatId,
          "typing",
          threadOption(threadId),
          apiSignal(this.#abort?.signal),
        ),
    );
  }

  // ── Plumbing ────────────────────────────────────────────────────────────

  async #ensureInit(signal?: AbortSignal): Promise<void> {
    if (this.#bot.isInited()) return;
    // Not `bot.init()`: it retries forever on network errors; our callers have their own backoff.
    this.#bot.botInfo = await this.#call("getMe", () => this.#bot.api.getMe(apiSignal(signal)));
  }

  /** Runs one API call; any failure comes out as a scrubbed {@link TelegramApiError}. */
  async #call<T>(method: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toTelegramError(err, method, this.#d.token);
    }
  }

  #warn(message: string, err: unknown, extra: Record<string, unknown> = {}): void {
    this.#log.warn(message, { ...extra, error: describeTelegramError(err, this.#d.token) });
  }

  #now(): Timestamp {
    return (this.#d.now ?? nowTimestamp)();
  }
}

function randomSecret(): string {
  return crypto.getRandomValues(new Uint8Array(32)).toBase64({ alphabet: "base64url", omitPadding: true });
}

function threadOf(threadId: string | null): { threadId?: number } {
  return threadId !== null && /^\d{1,15}$/.test(threadId) ? { threadId: Number(threadId) } : {};
}

function threadOption(threadId: string | null): { message_thread_id?: number } {
  const t = threadOf(threadId).threadId;
  return t === undefined ? {} : { message_thread_id: t };
}

function sendOptions(dest: Destination) {
  return {
    ...(dest.threadId !== undefined ? { message_thread_id: dest.threadId } : {}),
    ...(dest.replyTo !== undefined
      ? { reply_parameters: { message_id: dest.replyTo, allow_sending_without_reply: true } }
      : {}),
  };
}

function daysAgo(now: Timestamp, days: number): Timestamp {
  return new Date(Date.parse(now) - days * 86_400_000).toISOString() as Timestamp;
}
