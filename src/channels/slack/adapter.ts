/**
 * The Slack channel on the official libraries: events in through Socket
 * Mode (`@slack/socket-mode`, no public URL) or the Events API over HTTP
 * (a signed-request handler for the HTTP layer), through the router;
 * replies, files, the working mark and questions out through the Web API
 * (`@slack/web-api`).
 *
 * - Every event is handled once and never lost: an envelope is acked only
 *   after its message is written (a failure leaves it unacked, so Slack
 *   delivers it again), and a message already routed (its `ts` recorded in
 *   the state database) is not routed again when Slack redelivers it, after
 *   a dropped socket or a restart. Events are handled one at a time, in
 *   arrival order.
 * - A message from `slack:<user id>` in conversation `<channel id>` is
 *   routed (its thread, if any, is the thread); in a channel an `@mention`
 *   of the bot sets `mentioned`; a direct message always does. The sender
 *   policy is the router's: a stranger under `strict` is dropped, and none
 *   of their files is fetched.
 * - Replies go into the thread of the message they answer in channels (in
 *   a direct message, into its thread only when it had one), cut at 4000
 *   characters, each piece recorded as sent so a retried reply sends only
 *   what is missing.
 * - While an agent works on a message, the message wears an 👀 reaction
 *   (Slack has no typing indicator for apps), taken off with the reply.
 * - Files: a message's files are fetched from `url_private` with the bot
 *   token once a session takes the message, and placed in its workspace;
 *   a `send_file` reply, or a file sent, goes out through
 *   `files.getUploadURLExternal` and `files.completeUploadExternal`.
 * - Questions are posted with Block Kit buttons; a press (an interactive
 *   payload, acked) answers through the question desk, a reply in the
 *   question's thread answers in free text. Only someone who may reach the
 *   agent may answer.
 * - Back-pressure: a message its session refuses (a full backlog) is
 *   consumed, and the conversation told once per episode.
 * - The tokens stay in this process: errors and log lines are scrubbed.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { SocketModeClient } from "@slack/socket-mode";
import type { ChannelFile, ChannelMessage, ChannelTarget } from "../../delivery/mod.ts";
import { logger } from "../../log/mod.ts";
import type { Question } from "../../questions/mod.ts";
import { namespaceUserId } from "../../registry/mod.ts";
import type { RouteResult } from "../../router/mod.ts";
import type { SessionBacklogFullError } from "../../session/mod.ts";
import {
  answerAs,
  answeredText,
  answerFromText,
  type Attachment,
  AttachmentIntake,
  BACKLOG_NOTICE,
  BacklogNotices,
  type ChannelDeps,
  ChannelStore,
  DOWNLOAD_TIMEOUT_MS,
  parseChoiceId,
  parseFileReply,
  pressedOption,
  QuestionPoster,
  type QuestionTarget,
  readResponse,
  retryUntilStarted,
  routeMessage,
  type RunningChannel,
  safeFileName,
  splitMessage,
  tooLargeReason,
  waitingQuestion,
} from "../kit/mod.ts";
import {
  isDirectConversation,
  type ParsedSlackMessage,
  parseSlackMessage,
  SLACK_CHANNEL,
  type SlackFile,
  type SlackIdentity,
} from "./inbound.ts";
import { questionBlocks } from "./questions.ts";
import { checkSlackSignature } from "./signature.ts";
import { SlackApiError, type SlackRetryOptions, SlackWeb } from "./web.ts";

/** Longest text of one Slack message the channel sends (Slack's own cap is far above; 4000 reads well). */
export const SLACK_TEXT_LIMIT = 4000;

/** The reaction a message wears while an agent works on it. */
export const WORKING_REACTION = "eyes";

/** What the adapter is built from. */
export interface SlackAdapterDeps extends ChannelDeps {
  /** The bot token (`xoxb-…`; held here only, never logged). */
  botToken: string;
  /** The Web API root (default Slack's). */
  apiRoot: string;
  /** Socket Mode with the app-level token, or the Events API with the signing secret. */
  receive: { mode: "socket"; appToken: string } | { mode: "webhook"; signingSecret: string };
  retry?: SlackRetryOptions;
  /** How often pending questions are looked for while running (default 2 s). */
  questionPollMs?: number;
  /** The working mark (a reaction while an agent works), or false for none. */
  working?: boolean;
  /** Socket Mode's wait before reconnecting after a dropped connection (the library's default: 5 s). */
  reconnectDelayMs?: number;
}

/** What became of one event. */
export type HandledEvent =
  | { kind: "routed"; route: RouteResult }
  | { kind: "answered"; questionId: string }
  | { kind: "refused" | "ignored" | "duplicate"; detail: string };

/** The Slack channel adapter. */
export class SlackAdapter implements RunningChannel {
  readonly name = SLACK_CHANNEL;
  #d: SlackAdapterDeps;
  #log = logger("channel", "slack");
  #web: SlackWeb;
  #store: ChannelStore;
  #attachments: AttachmentIntake;
  #notices = new BacklogNotices();
  #socket?: SocketModeClient;
  #identity?: SlackIdentity;
  /** Events are handled one at a time, in order. */
  #chain: Promise<unknown> = Promise.resolve();
  /** Messages wearing the working mark: `<channel>/<ts>`. */
  #working = new Set<string>();
  #poster: QuestionPoster;
  #abort?: AbortController;
  #starting?: Promise<void>;
  #running = false;

  constructor(deps: SlackAdapterDeps) {
    this.#d = deps;
    const secrets = deps.receive.mode === "socket" ? [deps.receive.appToken] : [deps.receive.signingSecret];
    this.#web = new SlackWeb(deps.botToken, {
      apiRoot: deps.apiRoot,
      secrets,
      retry: deps.retry,
      log: this.#log,
    });
    this.#store = new ChannelStore(deps.state, SLACK_CHANNEL);
    this.#attachments = new AttachmentIntake((a, max) => this.#download(a, max), deps.files);
    this.#poster = new QuestionPoster({
      channel: SLACK_CHANNEL,
      registry: deps.registry,
      store: this.#store,
      desk: deps.desk,
      send: (q, to) => this.#sendQuestion(q, to),
      warn: (message, err, extra) => this.#web.warn(message, err, extra),
    });
  }

  /** How events arrive: `socket` (Socket Mode) or `webhook` (the Events API). */
  get mode(): "socket" | "webhook" {
    return this.#d.receive.mode;
  }

  /** Who the bot is; known after {@link start} reached Slack. */
  get identity(): SlackIdentity | undefined {
    return this.#identity;
  }

  /**
   * Starts receiving: `auth.test`, then the Socket Mode connection (or,
   * for the Events API, nothing: Slack posts to {@link webhookHandler}), and
   * the question poster. Resolves at once; Slack being unreachable is
   * logged and retried in the background, never thrown.
   */
  start(): Promise<void> {
    if (this.#running) return Promise.resolve();
    this.#running = true;
    this.#abort = new AbortController();
    this.#starting = this.#connect(this.#abort.signal);
    this.#poster.poll(this.#d.questionPollMs);
    return Promise.resolve();
  }

  /** Stops receiving and posting; waits for the event in progress and notices on their way. */
  async stop(): Promise<void> {
    if (this.#running) {
      this.#running = false;
      this.#abort?.abort(new Error("the Slack channel is stopping"));
      this.#poster.stopPolling();
      await this.#starting;
      await this.#socket?.disconnect().catch(() => {});
      this.#socket = undefined;
      await this.#chain.catch(() => {});
      await this.#poster.settled();
    }
    await this.#notices.settled();
  }

  async #connect(signal: AbortSignal): Promise<void> {
    await retryUntilStarted(() => this.#reach(), {
      running: () => this.#running,
      onFailure: (err) => this.#web.warn("Slack is not reachable yet, retrying: {error}", err),
      signal,
    });
  }

  /** `auth.test`, then (Socket Mode) the connection. */
  async #reach(): Promise<void> {
    await this.#ensureIdentity();
    if (this.#d.receive.mode === "webhook") {
      this.#log.info("Slack Events API ready for bot {bot}", { bot: this.#identity!.name });
      return;
    }
    const socket = this.#openSocket(this.#d.receive.appToken);
    await socket.start();
    this.#socket = socket;
    this.#log.info("Slack Socket Mode connected for bot {bot}", { bot: this.#identity!.name });
  }

  #openSocket(appToken: string): SocketModeClient {
    const socket = new SocketModeClient({
      appToken,
      logger: this.#web.libraryLogger(),
      clientOptions: { slackApiUrl: `${this.#d.apiRoot}/` },
      ...(this.#d.reconnectDelayMs !== undefined ? { clientPingTimeout: this.#d.reconnectDelayMs } : {}),
    });
    socket.on("slack_event", (args: { ack: () => Promise<void>; type: string; body: unknown }) => {
      this.#enqueue(args.type, args.body).then(
        () => args.ack().catch((err) => this.#web.warn("an envelope was not acked: {error}", err)),
        // Unacked: Slack delivers the envelope again.
        (err) => this.#web.warn("a Slack event failed (Slack will deliver it again): {error}", err),
      );
    });
    socket.on("reconnecting", () => this.#log.info("Slack Socket Mode reconnecting"));
    return socket;
  }

  async #ensureIdentity(): Promise<SlackIdentity> {
    if (this.#identity) return this.#identity;
    const me = await this.#web.call("auth.test", (c) => c.auth.test());
    this.#identity = { userId: me.user_id ?? "", botId: me.bot_id ?? "", name: me.user ?? "bot" };
    return this.#identity;
  }

  /**
   * Handles one Socket Mode envelope's (or Events API request's) payload of
   * `type` (`events_api`, `interactive`), after the ones before it.
   */
  handle(type: string, body: unknown): Promise<HandledEvent> {
    return this.#enqueue(type, body);
  }

  #enqueue(type: string, body: unknown): Promise<HandledEvent> {
    const next = this.#chain.catch(() => {}).then(() => this.#dispatch(type, body));
    this.#chain = next;
    return next;
  }

  async #dispatch(type: string, body: unknown): Promise<HandledEvent> {
    await this.#ensureIdentity();
    const payload = body as { type?: string; event?: { type?: string } };
    if (type === "events_api" && payload?.type === "event_callback") {
      const eventType = payload.event?.type;
      // A mention arrives as a message and as an app_mention; whichever comes second is a duplicate.
      if (eventType === "message" || eventType === "app_mention") {
        return await this.#message({ ...payload.event, type: "message" });
      }
      return { kind: "ignored", detail: `event ${eventType}` };
    }
    if (type === "interactive" && payload?.type === "block_actions") {
      return await this.#press(body as BlockActions);
    }
    return { kind: "ignored", detail: `${type} ${payload?.type ?? ""}`.trim() };
  }

  /**
   * The Events API endpoint for the HTTP layer (POST): checks Slack's
   * signature (v0, within five minutes), answers the URL check, handles the
   * event or interactive payload and answers 200; a failure answers 500 so
   * Slack sends it again.
   */
  webhookHandler(): ((request: Request) => Promise<Response>) | undefined {
    const receive = this.#d.receive;
    if (receive.mode !== "webhook") return undefined;
    return async (request) => {
      const body = await request.text();
      const refused = await checkSlackSignature({
        timestamp: request.headers.get("x-slack-request-timestamp"),
        signature: request.headers.get("x-slack-signature"),
        body,
      }, { signingSecret: receive.signingSecret });
      if (refused) return new Response(refused, { status: 401 });
      try {
        const form = request.headers.get("content-type")?.includes("application/x-www-form-urlencoded");
        const payload = form
          ? JSON.parse(new URLSearchParams(body).get("payload") ?? "null")
          : JSON.parse(body);
        if (payload?.type === "url_verification") return Response.json({ challenge: payload.challenge });
        await this.#enqueue(form ? "interactive" : "events_api", payload);
        return new Response(null, { status: 200 });
      } catch (err) {
        this.#web.warn("a Slack request failed (Slack will send it again): {error}", err);
        return new Response("event failed", { status: 500 });
      }
    };
  }

  // ── Messages ────────────────────────────────────────────────────────────

  async #message(raw: unknown): Promise<HandledEvent> {
    const parsed = parseSlackMessage(raw, this.#identity!);
    if (typeof parsed === "string") return { kind: "ignored", detail: parsed };
    if (this.#store.hasPlatformMessage(parsed.channelId, parsed.ts)) {
      return { kind: "duplicate", detail: `message ${parsed.ts} was handled already` };
    }
    const answered = await this.#threadAnswer(parsed);
    if (answered) return answered;
    const file = parsed.files.map(attachmentOf).find((a) => a !== undefined);
    const routed = await routeMessage({
      router: this.#d.router,
      intake: this.#attachments,
      store: this.#store,
      notices: this.#notices,
      event: parsed.event,
      file,
      at: { chatId: parsed.channelId, messageId: parsed.ts },
    });
    if ("full" in routed) return this.#refuseBacklog(parsed, routed.full);
    const { route } = routed;
    if (route.outcomes.some((o) => o.engaged)) await this.#markWorking(parsed.channelId, parsed.ts);
    return { kind: "routed", route };
  }

  #refuseBacklog(p: ParsedSlackMessage, err: SessionBacklogFullError): HandledEvent {
    const told = this.#notices.refused(
      err.sessionId,
      `${p.channelId}/${p.threadTs ?? ""}`,
      async () => {
        try {
          await this.#post(p.channelId, { text: BACKLOG_NOTICE, thread_ts: p.threadTs ?? p.ts });
          return true;
        } catch (e) {
          this.#web.warn("a backlog notice was not sent: {error}", e);
          return false;
        }
      },
    );
    this.#log.info(
      "Slack message {ts} in {channelId} refused: session {sessionId} is at its backlog cap ({backlog}, cap {cap}){told}",
      {
        ts: p.ts,
        channelId: p.channelId,
        sessionId: err.sessionId,
        backlog: err.backlog,
        cap: err.cap,
        told: told ? "; the conversation is asked to send it again" : "",
      },
    );
    return { kind: "refused", detail: `backlog-full: ${err.message}` };
  }

  async #download(a: Attachment, max: number): Promise<Uint8Array | { error: string }> {
    try {
      if (a.size !== undefined && a.size > max) return { error: tooLargeReason(a.size, max) };
      return await readResponse(
        await this.#web.fetchFile(a.fileId, AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS)),
        max,
      );
    } catch (err) {
      this.#web.warn("an attachment was not fetched: {error}", err);
      return { error: "the download from Slack failed" };
    }
  }

  // ── Sending ─────────────────────────────────────────────────────────────

  /**
   * Sends a reply: threaded, in pieces, each sent once; a `send_file` reply
   * as a file. A conversation that refuses the bot for good (not in it,
   * archived) is logged and the reply dropped (null); anything else throws
   * so delivery retries.
   */
  async deliver(message: ChannelMessage): Promise<string | null> {
    const threadTs = this.#threadOf(message);
    const answered = message.inReplyTo ? this.#store.message(message.inReplyTo) : undefined;
    try {
      const document = parseFileReply(message.content);
      if (document) {
        return await this.#once(
          message.id,
          0,
          message.platformId,
          () =>
            this.#upload(message.platformId, threadTs, {
              name: document.name,
              bytes: document.bytes,
              caption: document.caption,
            }),
        );
      }
      const ids: string[] = [];
      for (const [i, piece] of splitMessage(message.content, SLACK_TEXT_LIMIT).entries()) {
        ids.push(
          await this.#once(
            message.id,
            i,
            message.platformId,
            async () =>
              (await this.#post(message.platformId, {
                text: piece,
                ...(threadTs ? { thread_ts: threadTs } : {}),
              })).ts,
          ),
        );
      }
      return ids.length ? ids.join(",") : null;
    } catch (err) {
      if (err instanceof SlackApiError && err.permanent) {
        this.#log.error("reply {messageId} to {channelId} dropped: Slack refused it ({error})", {
          messageId: message.id,
          channelId: message.platformId,
          error: err.message,
        });
        return null;
      }
      throw err;
    } finally {
      if (answered) await this.#unmarkWorking(answered.chatId, answered.messageId);
    }
  }

  /** Sends `file` to the target conversation (and thread). */
  async sendFile(target: ChannelTarget, file: ChannelFile): Promise<string | null> {
    return await this.#upload(
      target.platformId,
      this.#threadOf({ ...target, inReplyTo: target.inReplyTo ?? null }),
      file,
    );
  }

  /** Marks the message the target answers as being worked on, until the reply. */
  async setTyping(target: ChannelTarget): Promise<void> {
    const answered = target.inReplyTo ? this.#store.message(target.inReplyTo) : undefined;
    if (answered) await this.#markWorking(answered.chatId, answered.messageId);
  }

  /**
   * The thread a reply goes into: the session's thread, else, in a channel,
   * the thread started on the message it answers; a direct message's
   * replies stay in the conversation.
   */
  #threadOf(m: Pick<ChannelMessage, "platformId" | "threadId" | "inReplyTo">): string | undefined {
    if (m.threadId) return m.threadId;
    if (isDirectConversation(m.platformId) || !m.inReplyTo) return undefined;
    return this.#store.message(m.inReplyTo)?.messageId;
  }

  async #post(channel: string, args: { text: string; thread_ts?: string; blocks?: unknown[] }) {
    const sent = await this.#web.call(
      "chat.postMessage",
      // deno-lint-ignore no-explicit-any
      (c) => c.chat.postMessage({ channel, ...args } as any),
      this.#abort?.signal,
    );
    return { ts: sent.ts ?? "" };
  }

  async #upload(channel: string, threadTs: string | undefined, file: ChannelFile): Promise<string> {
    const common = {
      file: Buffer.from(file.bytes),
      filename: safeFileName(file.name),
      ...(file.caption ? { initial_comment: file.caption } : {}),
    };
    const done = await this.#web.call("files.uploadV2", (c) =>
      c.filesUploadV2(
        threadTs
          ? { ...common, channel_id: channel, thread_ts: threadTs }
          : { ...common, channel_id: channel },
      ));
    const completed = (done as { files?: { files?: { id?: string }[] }[] }).files ?? [];
    return completed.flatMap((f) => f.files ?? []).map((f) => f.id).filter(Boolean).join(",") || "uploaded";
  }

  /** Sends piece `part` of `ref` unless it was sent before; records it once sent. */
  async #once(ref: string, part: number, channel: string, send: () => Promise<string>): Promise<string> {
    const sent = this.#store.sentParts(ref).get(part);
    if (sent !== undefined) return sent;
    const id = await send();
    this.#store.recordMessage(ref, part, channel, id);
    return id;
  }

  async #markWorking(channel: string, ts: string): Promise<void> {
    const key = `${channel}/${ts}`;
    if (this.#d.working === false || this.#working.has(key)) return;
    this.#working.add(key);
    try {
      await this.#web.call(
        "reactions.add",
        (c) => c.reactions.add({ channel, timestamp: ts, name: WORKING_REACTION }),
      );
    } catch (err) {
      this.#web.warn("the working mark was not set: {error}", err);
    }
  }

  async #unmarkWorking(channel: string, ts: string): Promise<void> {
    if (!this.#working.delete(`${channel}/${ts}`)) return;
    try {
      await this.#web.call(
        "reactions.remove",
        (c) => c.reactions.remove({ channel, timestamp: ts, name: WORKING_REACTION }),
      );
    } catch (err) {
      this.#web.warn("the working mark was not taken off: {error}", err);
    }
  }

  // ── Questions ───────────────────────────────────────────────────────────

  /**
   * Posts every unanswered question of a Slack conversation not posted yet
   * (once each, durably); returns how many were posted. Concurrent calls
   * share one round.
   */
  postQuestions(): Promise<number> {
    return this.#poster.post();
  }

  /** Sends `q` to its channel, in its conversation's thread when it has one. */
  async #sendQuestion(q: Question, to: QuestionTarget): Promise<{ chatId: string; messageId: string }> {
    const { blocks } = questionBlocks(q);
    const sent = await this.#post(to.chatId, {
      text: `❓ ${q.question}`,
      blocks,
      ...(to.threadId ? { thread_ts: to.threadId } : {}),
    });
    return { chatId: to.chatId, messageId: sent.ts };
  }

  /** A button press: answers its question when it is one of ours and the presser may. */
  async #press(payload: BlockActions): Promise<HandledEvent> {
    const desk = this.#d.desk;
    const action = payload.actions?.[0];
    const choice = action?.action_id ? parseChoiceId(action.action_id) : undefined;
    const channel = payload.channel?.id ?? payload.container?.channel_id;
    const ts = payload.message?.ts ?? payload.container?.message_ts;
    if (!choice || !desk || !channel || !ts || !payload.user?.id) {
      return { kind: "ignored", detail: "not a question button" };
    }
    // A press can arrive before the round posting its question has recorded where it went.
    await this.#poster.settled();
    const refuse = async (detail: string): Promise<HandledEvent> => {
      await this.#tellPresser(channel, payload.user!.id, detail);
      return { kind: "refused", detail };
    };
    const posted = this.#store.question(choice.questionId);
    if (!posted || posted.chatId !== channel || posted.messageId !== ts) {
      return await refuse("This button does not belong to a question here.");
    }
    const picked = pressedOption(desk, choice);
    if (typeof picked === "string") return await refuse(picked);
    const { question, option } = picked;
    const outcome = await this.#answer(question, { answer: option, userId: payload.user.id, channel, ts });
    if (outcome !== "answered") return await refuse(outcome);
    return { kind: "answered", questionId: question.id };
  }

  /** A message in the thread of a posted, unanswered question answers it in free text (or with an option's name). */
  async #threadAnswer(p: ParsedSlackMessage): Promise<HandledEvent | undefined> {
    const desk = this.#d.desk;
    if (!p.threadTs || !desk) return undefined;
    const question = waitingQuestion(desk, this.#store.questionAt(p.channelId, p.threadTs));
    if (!question) return undefined;
    const questionId = question.id;
    const answer = answerFromText(question, p.event.text);
    if (answer === undefined) {
      await this.#tellPresser(
        p.channelId,
        p.event.senderHandle,
        `Please answer with one of: ${question.options.join(", ")}`,
      );
      return { kind: "refused", detail: "not one of the options" };
    }
    const outcome = await this.#answer(question, {
      answer,
      userId: p.event.senderHandle,
      channel: p.channelId,
      ts: p.threadTs,
    });
    if (outcome !== "answered") {
      await this.#tellPresser(p.channelId, p.event.senderHandle, outcome);
      return { kind: "refused", detail: outcome };
    }
    return { kind: "answered", questionId };
  }

  /** Answers `q` as Slack user `how.userId` if they may (its message is `how.ts`); "answered", or why not. */
  async #answer(
    q: Question,
    how: { answer: string; userId: string; channel: string; ts: string },
  ): Promise<string> {
    const answered = await answerAs(q, {
      registry: this.#d.registry,
      desk: this.#d.desk!,
      userId: namespaceUserId(SLACK_CHANNEL, how.userId),
      answer: how.answer,
    });
    if (typeof answered === "string") return answered;
    try {
      const text = answeredText(answered, `<@${how.userId}>`);
      await this.#web.call("chat.update", (c) =>
        c.chat.update({
          channel: how.channel,
          ts: how.ts,
          text,
          blocks: [{ type: "section", text: { type: "mrkdwn", text } }],
        }));
    } catch (err) {
      this.#web.warn("the answered question {questionId} was not updated: {error}", err, {
        questionId: q.id,
      });
    }
    return "answered";
  }

  /** Tells one person something only they see (an ephemeral message). */
  async #tellPresser(channel: string, user: string, text: string): Promise<void> {
    try {
      await this.#web.call("chat.postEphemeral", (c) => c.chat.postEphemeral({ channel, user, text }));
    } catch (err) {
      this.#web.warn("a note to a presser was not sent: {error}", err);
    }
  }
}

/** The parts of a `block_actions` payload read here. */
interface BlockActions {
  type: "block_actions";
  user?: { id: string };
  channel?: { id: string };
  container?: { channel_id?: string; message_ts?: string };
  message?: { ts?: string };
  actions?: { action_id?: string; value?: string }[];
}

/** A message file as an attachment to fetch (its `url_private` is the handle), or undefined without one. */
function attachmentOf(f: SlackFile): Attachment | undefined {
  const url = f.url_private_download ?? f.url_private;
  if (!url) return undefined;
  return {
    fileId: url,
    name: safeFileName(f.name ?? f.title ?? "", `file-${f.id}`),
    size: f.size,
    mimeType: f.mimetype,
  };
}
