/**
 * The Discord channel on `@discordjs/core` (REST and Gateway): events in
 * over the gateway WebSocket, through the router; replies, files, typing
 * and questions out.
 *
 * - Every gateway event is handled once, in order, across dropped
 *   connections (`gateway_intake.ts`: the session resumes from the last
 *   event handled, a replayed event already queued is skipped).
 * - A message from `discord:<user id>` is routed with its chat: a DM, a
 *   guild channel, or a thread's parent with the thread as `threadId`. In a
 *   guild a mention, a reply to the bot, or any message in a thread the bot
 *   started sets `mentioned`; a DM always does (`inbound.ts`). When it
 *   engages an agent, the channel shows "typing" until the reply goes out.
 * - Back-pressure is a final answer, not a failure: a message refused
 *   because its session is at its unanswered-backlog cap is consumed at
 *   once (no typing, no download), and the conversation is told once per
 *   shedding episode, in a reply, to send it again in a moment.
 * - An attachment is fetched only once the router writes the message to a
 *   session (never for a sender the policy drops) and placed in each
 *   taking session's workspace before it wakes (`attachments.ts`).
 * - Replies go into the conversation's thread, or a thread started on the
 *   message they answer in a guild channel, in pieces of 2000 characters,
 *   each sent once; nothing the bot posts can ping (`sender.ts`).
 * - Questions are posted with buttons; a press is an interaction,
 *   acknowledged at once (`question_buttons.ts`).
 * - Rate limits: the REST library's buckets; a 429 waited out, a long one
 *   handed back so delivery retries (`client.ts`).
 * - The token stays in this process: errors and log lines are scrubbed.
 *
 * @module
 */
import type {
  APIMessageComponentInteraction,
  GatewayInteractionCreateDispatchData,
  GatewayMessageCreateDispatchData,
} from "@discordjs/core";
import { nowTimestamp, type Timestamp } from "../../../contract/time.ts";
import type { ChannelFile, ChannelMessage, ChannelTarget } from "../../delivery/mod.ts";
import { logger } from "../../log/mod.ts";
import type { QuestionDesk } from "../../questions/mod.ts";
import type { Registry } from "../../registry/mod.ts";
import type { Router, RouteResult } from "../../router/mod.ts";
import type { SessionBacklogFullError } from "../../session/mod.ts";
import type { StateDb } from "../../state/mod.ts";
import {
  AttachmentIntake,
  BACKLOG_NOTICE,
  BacklogNotices,
  ChannelStore,
  type InboundFiles,
  retryUntilStarted,
  routeMessage,
  type RunningChannel,
  TypingIndicator,
} from "../kit/mod.ts";
import { attachmentOf, discordDownload, withExtraAttachments } from "./attachments.ts";
import { DiscordClient } from "./client.ts";
import { type Dispatch, GatewayIntake } from "./gateway_intake.ts";
import { GatewaySessionStore } from "./session_store.ts";
import {
  type BotIdentity,
  DISCORD_CHANNEL,
  type ParsedMessage,
  parseMessage,
  type Place,
} from "./inbound.ts";
import { DISALLOWED_INTENTS_CLOSE, MESSAGE_CONTENT_FIX } from "./intents.ts";
import { type Answering, QuestionButtons } from "./question_buttons.ts";
import { DiscordSender } from "./sender.ts";

/** How long message references are kept for threading replies. */
export const MESSAGE_REF_DAYS = 30;

/** The close code a stop uses: anything but 1000/1001 leaves the session resumable (4200 is the library's own). */
const RESUMABLE_CLOSE = 4200;
/** Discord shows "typing" for ten seconds: repeated a little sooner. */
const TYPING_EVERY_MS = 8_000;
/** How long a backlog notice may take; it is sent off the event path. */
const NOTICE_TIMEOUT_MS = 20_000;
/** Thread channel types: announcement (10), public (11) and private (12) threads. */
const THREAD_TYPES = new Set([10, 11, 12]);
/** Channels whose thread-or-not is remembered (a lookup each, then none). */
const MAX_PLACES = 10_000;

/** What handling one gateway event did. */
export type HandledEvent =
  | { kind: "routed"; route: RouteResult }
  | { kind: "refused"; detail: string; sessionId?: string }
  | { kind: "ignored"; detail: string }
  | Answering;

/** What the adapter is built from. */
export interface DiscordAdapterDeps {
  /** The bot token (held here only; never logged). */
  token: string;
  /** Discord's server, or a compatible one (`https://discord.com` by default). */
  apiRoot: string;
  state: StateDb;
  registry: Registry;
  router: Pick<Router, "route">;
  /** Where questions are listed and answered; without it questions are not posted. */
  desk?: Pick<QuestionDesk, "pending" | "get" | "answer">;
  /** Where inbound files are placed; without it attachments are only named. */
  files?: InboundFiles;
  /** Typing indicator timing, or false for none. */
  typing?: { everyMs?: number; maxMs?: number } | false;
  /** How often pending questions are looked for while running (default 2 s). */
  questionPollMs?: number;
  /** Told what each gateway event did, once handled (for status lines and tests). */
  onHandled?: (event: { t: string; s: number }, handled: HandledEvent) => void;
  now?: () => Timestamp;
}

/** The Discord channel adapter. */
export class DiscordAdapter implements RunningChannel {
  readonly name = DISCORD_CHANNEL;
  readonly mode = "gateway";
  #d: DiscordAdapterDeps;
  #log = logger("channel", "discord");
  #client: DiscordClient;
  #store: ChannelStore;
  #intake: GatewayIntake;
  #sender: DiscordSender;
  #typing?: TypingIndicator;
  #attachments: AttachmentIntake;
  #questions: QuestionButtons;
  #notices = new BacklogNotices();
  #places = new Map<string, Place>();
  #identity?: BotIdentity;
  #abort?: AbortController;
  #starting?: Promise<void>;
  #running = false;
  /** Discord refused the privileged intent: said once a try, with the fix, and retried quietly. */
  #intentRefused = false;

  constructor(deps: DiscordAdapterDeps) {
    this.#d = deps;
    this.#intake = new GatewayIntake({
      handle: async (event) => {
        const handled = await this.#dispatch(event);
        this.#d.onHandled?.({ t: event.t, s: event.s }, handled);
      },
      describe: (err) => this.#client.describe(err),
      log: this.#log,
      saved: new GatewaySessionStore(deps.state, DISCORD_CHANNEL),
    });
    this.#client = new DiscordClient(deps.token, {
      apiRoot: deps.apiRoot,
      sessions: this.#intake,
      log: this.#log,
    });
    this.#store = new ChannelStore(deps.state, DISCORD_CHANNEL, { now: deps.now });
    this.#sender = new DiscordSender(this.#client, this.#store, deps.registry);
    if (deps.typing !== false) {
      this.#typing = new TypingIndicator({
        send: (chatId, threadId) => this.#sender.typing(threadId ?? chatId, this.#abort?.signal),
        everyMs: deps.typing?.everyMs ?? TYPING_EVERY_MS,
        maxMs: deps.typing?.maxMs,
        onError: (err) => this.#client.warn("typing indicator failed in a channel: {error}", err),
      });
    }
    this.#attachments = new AttachmentIntake(discordDownload(this.#client), deps.files);
    this.#questions = new QuestionButtons({
      client: this.#client,
      store: this.#store,
      sender: this.#sender,
      registry: deps.registry,
      desk: deps.desk,
      onPosted: (chatId, threadId) => this.#typing?.stop(chatId, threadId),
    });
    const { gateway } = this.#client;
    gateway.on("dispatch", (payload) => {
      this.#intake.take(payload as Dispatch).catch(() => {});
    });
    gateway.on("error", (err) => {
      if (!this.#intentRefused) this.#client.warn("the Discord gateway failed: {error}", err);
    });
    gateway.on("closed", (code) => {
      this.#intentRefused = code === DISALLOWED_INTENTS_CLOSE;
      if (this.#intentRefused) {
        this.#log.error("Discord refused the gateway: the Message Content intent is not enabled; {fix}", {
          fix: MESSAGE_CONTENT_FIX,
        });
      }
    });
  }

  /** Who the bot is; available once started. */
  get identity(): BotIdentity | undefined {
    return this.#identity;
  }

  /**
   * Starts receiving: who the bot is (`users/@me`), then the gateway, and
   * the question poster. Resolves at once; Discord being unreachable is
   * logged and retried in the background, never thrown.
   */
  start(): Promise<void> {
    if (this.#running) return Promise.resolve();
    this.#running = true;
    this.#abort = new AbortController();
    this.#intake.stopping(false);
    this.#store.pruneMessages(daysAgo(this.#now(), MESSAGE_REF_DAYS));
    this.#starting = this.#connect(this.#abort.signal);
    this.#questions.poster.poll(this.#d.questionPollMs);
    return Promise.resolve();
  }

  /** Resolves once the gateway is connected (or the channel stopped); for tests and start-up lines. */
  async ready(): Promise<void> {
    await this.#starting;
  }

  /** Stops the gateway, the question poster and typing; waits for work in progress and notices. */
  async stop(): Promise<void> {
    if (this.#running) {
      this.#running = false;
      this.#abort?.abort(new Error("the Discord channel is stopping"));
      this.#questions.poster.stopPolling();
      this.#typing?.stopAll();
      await this.#starting;
      // Not 1000 (which ends the session on Discord's side): the next start resumes it.
      this.#intake.stopping(true);
      await this.#client.gateway.destroy({ code: RESUMABLE_CLOSE });
      await this.#intake.idle();
      await this.#questions.poster.settled();
    }
    await this.#notices.settled();
  }

  async #connect(signal: AbortSignal): Promise<void> {
    await retryUntilStarted(async () => {
      const me = await this.#client.api.users.getCurrent({ signal });
      this.#identity = { id: me.id, username: me.username };
      await this.#client.gateway.connect();
      this.#log.info("Discord gateway connected for bot {bot}", { bot: me.username });
    }, {
      running: () => this.#running,
      signal, // a stop cuts a wait in progress short instead of letting it run out (up to a minute)
      onFailure: (err) => {
        if (!this.#intentRefused) this.#client.warn("Discord is not reachable yet, retrying: {error}", err);
      },
    });
  }

  /** Posts every unanswered question of a Discord conversation not posted yet; returns how many. */
  postQuestions(): Promise<number> {
    return this.#questions.poster.post();
  }

  // ── Events ──────────────────────────────────────────────────────────────

  #dispatch(event: Dispatch): Promise<HandledEvent> {
    if (event.t === "MESSAGE_CREATE") return this.#message(event.d as GatewayMessageCreateDispatchData);
    if (event.t === "INTERACTION_CREATE") {
      const interaction = event.d as GatewayInteractionCreateDispatchData;
      // type 3: a message component (a button) was used
      if (interaction.type === 3) return this.#questions.press(interaction as APIMessageComponentInteraction);
    }
    return Promise.resolve({ kind: "ignored", detail: event.t });
  }

  async #message(msg: GatewayMessageCreateDispatchData): Promise<HandledEvent> {
    const bot = this.#identity;
    if (!bot) return { kind: "ignored", detail: "before start" };
    if (msg.author.bot) return { kind: "ignored", detail: "from-bot" };
    const place = await this.#place(msg);
    const parsed = parseMessage(msg, { bot, place, hasAttachment: msg.attachments.length > 0 });
    if (typeof parsed === "string") return { kind: "ignored", detail: parsed };
    // Replayed after a restart that came between routing it and keeping its sequence: routed already.
    if (this.#store.hasPlatformMessage(parsed.channelId, parsed.messageId)) {
      return { kind: "ignored", detail: "handled already" };
    }
    const answered = await this.#questions.reply(parsed, msg.author);
    if (answered) return answered;
    const [first, ...extra] = msg.attachments;
    const routed = await routeMessage({
      router: this.#d.router,
      intake: this.#attachments,
      store: this.#store,
      notices: this.#notices,
      event: withExtraAttachments(parsed.event, extra),
      file: first && attachmentOf(first),
      at: { chatId: parsed.channelId, messageId: parsed.messageId },
    });
    if ("full" in routed) return this.#refuseBacklog(parsed, routed.full);
    const { route } = routed;
    const threadId = parsed.event.threadId;
    for (const o of route.outcomes) {
      if (o.messageId && o.sessionId && threadId) this.#sender.noteThread(o.sessionId, threadId);
    }
    if (route.outcomes.some((o) => o.engaged)) {
      await this.#typing?.start(parsed.chatId, parsed.event.threadId);
    }
    return { kind: "routed", route };
  }

  /** The chat and thread of a message: a DM or channel as it is; a thread under its parent. */
  async #place(msg: GatewayMessageCreateDispatchData): Promise<Place> {
    const channelId = msg.channel_id;
    if (!msg.guild_id) return { chatId: channelId, threadId: null };
    const parent = this.#sender.botThreadParent(channelId);
    if (parent) return { chatId: parent, threadId: channelId, botThread: true };
    const known = this.#places.get(channelId);
    if (known) return known;
    const channel = await this.#client.api.channels.get(channelId);
    const place: Place = THREAD_TYPES.has(channel.type) && "parent_id" in channel && channel.parent_id
      ? { chatId: channel.parent_id, threadId: channelId }
      : { chatId: channelId, threadId: null };
    if (this.#places.size >= MAX_PLACES) this.#places.clear();
    this.#places.set(channelId, place);
    return place;
  }

  /**
   * A message its session refused at its backlog cap: handled (never
   * retried), no typing, no download; the conversation is told once per
   * episode, in a reply to this message.
   */
  #refuseBacklog(p: ParsedMessage, err: SessionBacklogFullError): HandledEvent {
    const told = this.#notices.refused(
      err.sessionId,
      `${p.chatId}/${p.event.threadId ?? ""}`,
      () =>
        this.#sender.notice(
          { channelId: p.channelId, replyTo: p.messageId },
          BACKLOG_NOTICE,
          AbortSignal.timeout(NOTICE_TIMEOUT_MS),
        ),
    );
    // Ids and counts only: the message's text stays out of the log.
    this.#log.info(
      "Discord message {messageId} in channel {channelId} refused: session {sessionId} is at its backlog cap " +
        "({backlog} unanswered, cap {cap}){told}",
      {
        messageId: p.messageId,
        channelId: p.channelId,
        sessionId: err.sessionId,
        backlog: err.backlog,
        cap: err.cap,
        told: told ? "; the conversation is asked to send it again" : "",
      },
    );
    return { kind: "refused", detail: `backlog-full: ${err.message}`, sessionId: err.sessionId };
  }

  // ── Sending ─────────────────────────────────────────────────────────────

  /**
   * Sends a reply (see `DiscordSender.reply`): in its thread, in pieces,
   * each sent once. A channel that refuses the bot for good (400, 403, 404)
   * is logged and the reply dropped (null); anything else throws so
   * delivery retries (a long rate limit included).
   */
  async deliver(message: ChannelMessage): Promise<string | null> {
    this.#typing?.stop(message.platformId, message.threadId);
    try {
      return await this.#sender.reply(message, await this.#sender.destination(message));
    } catch (err) {
      const failure = this.#client.toError(err);
      if (failure.permanent) {
        this.#log.error("reply {messageId} to channel {channelId} dropped: Discord refused it ({error})", {
          messageId: message.id,
          channelId: message.threadId ?? message.platformId,
          error: failure.message,
        });
        return null;
      }
      throw failure;
    }
  }

  /** Sends `file` as an attachment to the target channel (its thread when it has one). */
  async sendFile(target: ChannelTarget, file: ChannelFile): Promise<string | null> {
    try {
      return await this.#sender.file(this.#sender.targetDestination(target), file);
    } catch (err) {
      throw this.#client.toError(err);
    }
  }

  /** Shows "typing" in the target channel until the next reply there. */
  async setTyping(target: ChannelTarget): Promise<void> {
    await this.#typing?.start(target.platformId, target.threadId);
  }

  #now(): Timestamp {
    return (this.#d.now ?? nowTimestamp)();
  }
}

function daysAgo(now: Timestamp, days: number): Timestamp {
  return new Date(Date.parse(now) - days * 86_400_000).toISOString() as Timestamp;
}
