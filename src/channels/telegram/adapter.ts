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
 * The adapter is the wiring of its parts, one file each, the seams a channel
 * has: the Bot API client that scrubs the token (`bot_client.ts`), update
 * intake (`update_intake.ts`), sending (`sender.ts`: threads, pieces at the
 * platform's limit), questions as buttons (`question_buttons.ts`); the
 * typing indicator, inbound files and backlog notices are the channels' kit
 * (`../kit/`), the sender policy is the router's, the token check
 * `doctor.ts`.
 *
 * @module
 */
import type { Message, Update } from "grammy/types";
import { nowTimestamp, type Timestamp } from "../../../contract/time.ts";
import type { ChannelFile, ChannelMessage, ChannelTarget } from "../../delivery/mod.ts";
import { logger } from "../../log/mod.ts";
import type { QuestionDesk } from "../../questions/mod.ts";
import type { Registry } from "../../registry/mod.ts";
import type { Router } from "../../router/mod.ts";
import type { SessionBacklogFullError } from "../../session/mod.ts";
import type { StateDb } from "../../state/mod.ts";
import { TelegramClient } from "./bot_client.ts";
import {
  type Attachment,
  AttachmentIntake,
  BACKLOG_NOTICE,
  BacklogNotices,
  Backoff,
  ChannelStore,
  DOWNLOAD_TIMEOUT_MS,
  type InboundFiles,
  readResponse,
  retryUntilStarted,
  routeMessage,
  type RunningChannel,
  tooLargeReason,
  TypingIndicator,
} from "../kit/mod.ts";
import { attachmentOf } from "./files.ts";
import { apiSignal, webhookCallback } from "./grammy.ts";
import { type BotIdentity, type ParsedMessage, parseMessage, TELEGRAM_CHANNEL } from "./inbound.ts";
import { QuestionButtons } from "./question_buttons.ts";
import type { RetryOptions } from "./retry.ts";
import { TelegramApiError } from "./secrets.ts";
import { type Destination, TelegramSender, threadOf } from "./sender.ts";
import { type HandledUpdate, UpdateIntake } from "./update_intake.ts";

export { MAX_UPDATE_ATTEMPTS } from "./update_intake.ts";
export type { HandledUpdate } from "./update_intake.ts";

/** The updates the channel asks for. */
export const ALLOWED_UPDATES = ["message", "callback_query"] as const;

/** How long message references are kept for threading replies. */
export const MESSAGE_REF_DAYS = 30;

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

/** The Telegram channel adapter. */
export class TelegramAdapter implements RunningChannel {
  readonly name = TELEGRAM_CHANNEL;
  #d: TelegramAdapterDeps;
  #log = logger("channel", "telegram");
  #client: TelegramClient;
  #store: ChannelStore;
  #intake: UpdateIntake;
  #sender: TelegramSender;
  #typing?: TypingIndicator;
  #attachments: AttachmentIntake;
  #questions: QuestionButtons;
  #notices = new BacklogNotices();
  #secret: string;
  #abort?: AbortController;
  #loop?: Promise<void>;
  #running = false;

  constructor(deps: TelegramAdapterDeps) {
    this.#d = deps;
    this.#client = new TelegramClient(deps.token, {
      apiRoot: deps.apiRoot,
      retry: deps.retry,
      log: this.#log,
    });
    this.#store = new ChannelStore(deps.state, TELEGRAM_CHANNEL, { now: deps.now });
    this.#sender = new TelegramSender(this.#client, this.#store);
    this.#secret = deps.webhook?.secretToken ?? randomSecret();
    if (deps.typing !== false) {
      this.#typing = new TypingIndicator({
        send: (chatId, threadId) => this.#sender.typing(chatId, threadId, this.#abort?.signal),
        everyMs: deps.typing?.everyMs,
        maxMs: deps.typing?.maxMs,
        onError: (err) => this.#client.warn("typing indicator failed in a chat: {error}", err),
      });
    }
    this.#attachments = new AttachmentIntake((a, max) => this.#download(a, max), deps.files);
    this.#questions = new QuestionButtons({
      client: this.#client,
      store: this.#store,
      sender: this.#sender,
      registry: deps.registry,
      desk: deps.desk,
      onPosted: (chatId, threadId) => this.#typing?.stop(chatId, threadId),
    });
    this.#intake = new UpdateIntake(this.#store, {
      handle: (update) => this.#dispatch(update),
      describe: (err) => this.#client.describe(err),
      log: this.#log,
    });
    this.#client.bot.use(async (ctx) => {
      await this.#intake.take(ctx.update);
    });
  }

  /** Who the bot is; available after {@link start} or the first poll. */
  get identity(): BotIdentity | undefined {
    return this.#client.identity;
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
    this.#questions.poster.poll(this.#d.questionPollMs);
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
      this.#questions.poster.stopPolling();
      this.#typing?.stopAll();
      await this.#loop;
      await this.#intake.idle();
      await this.#questions.poster.settled();
    }
    await this.#notices.settled();
  }

  async #run(signal: AbortSignal): Promise<void> {
    // One backoff for both: a poll failing right after a hard start waits on.
    const backoff = new Backoff();
    const started = await retryUntilStarted(() => this.#begin(signal), {
      running: () => this.#running,
      onFailure: (err) => this.#client.warn("Telegram is not reachable yet, retrying: {error}", err),
      signal,
      backoff,
    });
    if (started !== "polling") return;
    while (this.#running) {
      try {
        await this.pollOnce({ signal });
        backoff.reset();
      } catch (err) {
        if (!this.#running) return;
        this.#client.warn("polling Telegram failed, retrying: {error}", err);
        await backoff.pause(signal);
      }
    }
  }

  /** `getMe`, then the webhook registered (`webhook`) or removed for long polling (`polling`). */
  async #begin(signal: AbortSignal): Promise<"webhook" | "polling"> {
    const { bot } = this.#client;
    await this.#client.ensureInit(signal);
    if (this.#d.webhook) {
      await this.#client.call("setWebhook", () =>
        bot.api.setWebhook(this.#d.webhook!.url, {
          secret_token: this.#secret,
          allowed_updates: [...ALLOWED_UPDATES],
          max_connections: 1,
        }, apiSignal(signal)));
      this.#log.info("Telegram webhook registered for bot @{bot}", { bot: this.identity?.username });
      return "webhook";
    }
    await this.#client.call("deleteWebhook", () => bot.api.deleteWebhook({}, apiSignal(signal)));
    this.#log.info("Telegram long polling started for bot @{bot}", { bot: this.identity?.username });
    return "polling";
  }

  /**
   * One `getUpdates` from the durable cursor, each update handled in order.
   * Throws (after handling the updates before it) when an update fails and
   * may still succeed on a later try. A message refused by back-pressure is
   * handled (`refused`), not a failure.
   */
  async pollOnce(options: { timeoutSeconds?: number; signal?: AbortSignal } = {}): Promise<HandledUpdate[]> {
    await this.#client.ensureInit(options.signal);
    const offset = this.#store.cursor();
    const updates = await this.#client.call("getUpdates", () =>
      this.#client.bot.api.getUpdates({
        offset: offset > 0 ? offset : undefined,
        timeout: options.timeoutSeconds ?? this.#d.poll?.timeoutSeconds ?? 25,
        limit: this.#d.poll?.limit ?? 100,
        allowed_updates: [...ALLOWED_UPDATES],
      }, apiSignal(options.signal)));
    const handled: HandledUpdate[] = [];
    for (const update of updates) handled.push(await this.#intake.take(update));
    return handled;
  }

  /** True when Telegram posts updates to our webhook instead of being polled. */
  get webhookMode(): boolean {
    return this.#d.webhook !== undefined;
  }

  /** How updates arrive: `webhook` or `polling`. */
  get mode(): "webhook" | "polling" {
    return this.webhookMode ? "webhook" : "polling";
  }

  /**
   * The webhook endpoint for the HTTP layer to mount (POST): checks
   * Telegram's secret header, handles the update, answers 200; a failure
   * answers 500 so Telegram sends it again. A message refused by
   * back-pressure is handled (200): a redelivery would only be refused
   * again, and would hold up the updates behind it.
   */
  webhookHandler(): (request: Request) => Promise<Response> {
    const callback = webhookCallback(this.#client.bot, "std/http", {
      secretToken: this.#secret,
      onTimeout: "return",
      timeoutMilliseconds: 50_000,
    });
    return async (request) => {
      try {
        await this.#client.ensureInit();
        return await callback(request);
      } catch (err) {
        this.#client.warn("a webhook update failed (Telegram will resend it): {error}", err);
        return new Response("update failed", { status: 500 });
      }
    };
  }

  /**
   * Posts every unanswered question of a Telegram conversation not posted
   * yet (once each, durably); returns how many were posted.
   */
  postQuestions(): Promise<number> {
    return this.#questions.poster.post();
  }

  // ── Updates ─────────────────────────────────────────────────────────────

  #dispatch(update: Update): Promise<HandledUpdate> {
    if (update.message) return this.#message(update.update_id, update.message);
    if (update.callback_query) return this.#questions.press(update.update_id, update.callback_query);
    return Promise.resolve({ updateId: update.update_id, kind: "ignored", detail: "not a message" });
  }

  async #message(updateId: number, msg: Message): Promise<HandledUpdate> {
    const attachment = attachmentOf(msg);
    const parsed = parseMessage(msg, this.identity!, attachment !== undefined);
    if (typeof parsed === "string") return { updateId, kind: "ignored", detail: parsed };
    const answered = await this.#questions.reply(updateId, parsed);
    if (answered) return answered;
    const routed = await routeMessage({
      router: this.#d.router,
      intake: this.#attachments,
      store: this.#store,
      notices: this.#notices,
      event: parsed.event,
      file: attachment,
      at: { chatId: parsed.chatId, messageId: parsed.messageId },
    });
    if ("full" in routed) return this.#refuseBacklog(updateId, parsed, routed.full);
    const { route } = routed;
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
   * The conversation is told once per episode, in a reply to this message.
   */
  #refuseBacklog(updateId: number, p: ParsedMessage, err: SessionBacklogFullError): HandledUpdate {
    const dest: Destination = {
      chatId: p.chatId,
      replyTo: Number(p.messageId),
      ...threadOf(p.event.threadId),
    };
    // Not cut short by stop(), which waits for it: a notice is one short call, bounded on its own.
    const told = this.#notices.refused(
      err.sessionId,
      `${p.chatId}/${p.event.threadId ?? ""}`,
      () => this.#sender.notice(dest, BACKLOG_NOTICE, AbortSignal.timeout(NOTICE_TIMEOUT_MS)),
    );
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
        told: told ? "; the chat is asked to send it again" : "",
      },
    );
    return { updateId, kind: "refused", detail: `backlog-full: ${err.message}`, sessionId: err.sessionId };
  }

  // ── Sending ─────────────────────────────────────────────────────────────

  /**
   * Sends a reply (see `TelegramSender.reply`): threaded, in pieces, each
   * sent once. A chat that refuses the bot for good (400, 403) is logged and
   * the reply dropped (null); anything else throws so delivery retries.
   */
  async deliver(message: ChannelMessage): Promise<string | null> {
    const dest = this.#sender.destination(message);
    this.#typing?.stop(dest.chatId, message.threadId);
    try {
      return await this.#sender.reply(message, dest);
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
    return await this.#sender.document(this.#sender.targetDestination(target), file);
  }

  /** Shows "typing" in the target chat until the next reply there. */
  async setTyping(target: ChannelTarget): Promise<void> {
    await this.#typing?.start(target.platformId, target.threadId);
  }

  /** An attachment's bytes (at most `max`: `getFile`, then the file URL), or why they could not be had. */
  async #download(a: Attachment, max: number): Promise<Uint8Array | { error: string }> {
    try {
      const file = await this.#client.call("getFile", () => this.#client.bot.api.getFile(a.fileId));
      if (file.file_size !== undefined && file.file_size > max) {
        return { error: tooLargeReason(file.file_size, max) };
      }
      if (!file.file_path) throw new Error("the server gave no file path");
      return await readResponse(
        await this.#client.fetchFile(file.file_path, AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS)),
        max,
      );
    } catch (err) {
      this.#client.warn("an attachment was not fetched: {error}", err);
      return { error: "the download from Telegram failed" };
    }
  }

  #now(): Timestamp {
    return (this.#d.now ?? nowTimestamp)();
  }
}

function randomSecret(): string {
  return crypto.getRandomValues(new Uint8Array(32)).toBase64({ alphabet: "base64url", omitPadding: true });
}

function daysAgo(now: Timestamp, days: number): Timestamp {
  return new Date(Date.parse(now) - days * 86_400_000).toISOString() as Timestamp;
}
