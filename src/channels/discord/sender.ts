/**
 * Sending to Discord: replies in pieces of at most 2000 characters, each
 * recorded as sent (a retried reply sends only what is missing), `send_file`
 * replies and files as attachments (multipart), short notices, and the
 * typing indicator.
 *
 * Where a reply goes: into its conversation's thread when it has one; in a
 * guild channel, into a thread started on the message it answers (so a busy
 * channel keeps each conversation apart; the thread is remembered, and
 * every message in it engages the bot); in a DM, as a reply to the message.
 * Nothing the bot sends can ping anyone: `allowed_mentions` is empty, so an
 * agent cannot mass-mention `@everyone`, a role or a member.
 *
 * @module
 */
import type { RESTPostAPIChannelMessageJSONBody } from "@discordjs/core";
import type { ChannelFile, ChannelMessage, ChannelTarget } from "../../delivery/mod.ts";
import type { Registry } from "../../registry/mod.ts";
import { type ChannelStore, parseFileReply, safeFileName, splitMessage } from "../kit/mod.ts";
import type { DiscordClient } from "./client.ts";
import { DISCORD_TEXT_LIMIT } from "./inbound.ts";

/** Where a message goes on Discord. */
export interface Destination {
  /** The Discord channel posted in (a thread is a channel). */
  channelId: string;
  /** The message it answers, when in `channelId`. */
  replyTo?: string;
}

/** Thread names are 1 to 100 characters. */
const THREAD_NAME_LIMIT = 100;
/** Threads the bot starts are archived after a day without messages (Discord's choices: 1 h, 1 d, 3 d, 1 w). */
const THREAD_ARCHIVE_MINUTES = 1440;
/** Store refs: the thread started on a Discord message, and the threads the bot started. */
const THREAD_ON = "thread-on:";
const BOT_THREAD = "bot-thread:";

/** Sessions whose last thread is remembered (the oldest forgotten first). */
const MAX_SESSION_THREADS = 10_000;

/** No pings, ever, from what an agent writes. */
const NO_MENTIONS: Pick<RESTPostAPIChannelMessageJSONBody, "allowed_mentions"> = {
  allowed_mentions: { parse: [], replied_user: false },
};

/** Sends replies, files, notices and typing through one client, remembering what it sent. */
export class DiscordSender {
  #client: DiscordClient;
  #store: ChannelStore;
  #registry: Pick<Registry, "getSession" | "getMessagingGroup">;
  #threads = new Map<string, string>();

  constructor(
    client: DiscordClient,
    store: ChannelStore,
    registry: Pick<Registry, "getSession" | "getMessagingGroup">,
  ) {
    this.#client = client;
    this.#store = store;
    this.#registry = registry;
  }

  /**
   * Where reply `message` goes: its thread; else where the message it
   * answers was posted (a thread, a DM) as a reply to it; else the thread its
   * conversation went on in last; else, answering a message in a guild
   * channel, a thread started on that message (once: a retry finds it).
   */
  async destination(
    message: Pick<ChannelMessage, "sessionId" | "platformId" | "threadId" | "inReplyTo" | "content">,
  ): Promise<Destination> {
    const answered = message.inReplyTo ? this.#store.message(message.inReplyTo) : undefined;
    // A message that names no thread nor message (a send_file, a send_message) goes on where the conversation did.
    const channelId = message.threadId ?? answered?.chatId ?? this.threadOf(message.sessionId) ??
      message.platformId;
    const replyTo = answered?.chatId === channelId ? answered.messageId : undefined;
    if (channelId !== message.platformId || !replyTo || !this.#inGuild(message.sessionId)) {
      if (channelId !== message.platformId) this.noteThread(message.sessionId, channelId);
      return { channelId, replyTo };
    }
    const started = this.#store.message(`${THREAD_ON}${replyTo}`);
    const threadId = started?.messageId ??
      await this.#startThread(message.platformId, replyTo, message.content);
    this.noteThread(message.sessionId, threadId);
    return { channelId: threadId };
  }

  /** Remembers `threadId` as where `sessionId`'s conversation goes on (its questions are posted there). */
  noteThread(sessionId: string, threadId: string): void {
    this.#threads.delete(sessionId);
    this.#threads.set(sessionId, threadId);
    if (this.#threads.size > MAX_SESSION_THREADS) this.#threads.delete(this.#threads.keys().next().value!);
  }

  /** The thread `sessionId`'s conversation went on in last (memory only), if any. */
  threadOf(sessionId: string): string | undefined {
    return this.#threads.get(sessionId);
  }

  async #startThread(channelId: string, messageId: string, content: string): Promise<string> {
    const thread = await this.#client.api.channels.createThread(channelId, {
      name: threadName(content),
      auto_archive_duration: THREAD_ARCHIVE_MINUTES,
    }, messageId);
    this.#store.recordMessage(`${THREAD_ON}${messageId}`, 0, channelId, thread.id);
    this.#store.recordMessage(`${BOT_THREAD}${thread.id}`, 0, channelId, thread.id);
    return thread.id;
  }

  /** Where a file sent to `target` goes (its thread, else its chat). */
  targetDestination(target: ChannelTarget): Destination {
    const answered = target.inReplyTo ? this.#store.message(target.inReplyTo) : undefined;
    const channelId = target.threadId ?? answered?.chatId ?? target.platformId;
    return { channelId, replyTo: answered?.chatId === channelId ? answered.messageId : undefined };
  }

  /** The parent channel of `threadId` when the bot started that thread for a reply. */
  botThreadParent(threadId: string): string | undefined {
    return this.#store.message(`${BOT_THREAD}${threadId}`)?.chatId;
  }

  /**
   * Sends reply `message` to `dest`: a `send_file` reply as an attachment,
   * anything else as text in pieces of at most 2000 characters; pieces
   * already sent are not sent again. Resolves to the Discord message ids,
   * comma-separated (null: nothing to send).
   */
  async reply(message: ChannelMessage, dest: Destination): Promise<string | null> {
    const document = parseFileReply(message.content);
    if (document) {
      return await this.#once(message.id, 0, dest.channelId, () => this.file(dest, document));
    }
    const ids: string[] = [];
    for (const [i, piece] of splitMessage(message.content, DISCORD_TEXT_LIMIT).entries()) {
      // Only the first piece answers the message.
      const replyTo = i === 0 ? dest.replyTo : undefined;
      ids.push(
        await this.#once(
          message.id,
          i,
          dest.channelId,
          () => this.#post(dest.channelId, { content: piece }, replyTo),
        ),
      );
    }
    return ids.length > 0 ? ids.join(",") : null;
  }

  /** Sends `file` as an attachment (its caption as the message); resolves to the message id. */
  async file(
    dest: Destination,
    file: Pick<ChannelFile, "name" | "bytes" | "caption" | "mimeType">,
  ): Promise<string> {
    const sent = await this.#client.api.channels.createMessage(dest.channelId, {
      ...(file.caption ? { content: file.caption.slice(0, DISCORD_TEXT_LIMIT) } : {}),
      ...NO_MENTIONS,
      ...reference(dest.replyTo),
      files: [{ name: safeFileName(file.name), data: file.bytes, contentType: file.mimeType }],
    });
    return sent.id;
  }

  /** Posts `text` to `dest`; true once sent, false (logged) when it could not be. */
  async notice(dest: Destination, text: string, signal?: AbortSignal): Promise<boolean> {
    try {
      await this.#post(dest.channelId, { content: text }, dest.replyTo, signal);
      return true;
    } catch (err) {
      this.#client.warn("a notice to channel {channelId} failed: {error}", err, {
        channelId: dest.channelId,
      });
      return false;
    }
  }

  /** Shows "typing" once in the channel (Discord shows it for about ten seconds or until the bot posts). */
  async typing(channelId: string, signal?: AbortSignal): Promise<void> {
    await this.#client.api.channels.showTyping(channelId, { signal });
  }

  async #post(
    channelId: string,
    body: RESTPostAPIChannelMessageJSONBody,
    replyTo?: string,
    signal?: AbortSignal,
  ): Promise<string> {
    const sent = await this.#client.api.channels.createMessage(
      channelId,
      { ...body, ...NO_MENTIONS, ...reference(replyTo) },
      { signal },
    );
    return sent.id;
  }

  /** Runs `send` unless piece `part` of `ref` was sent already; records it once sent. */
  async #once(ref: string, part: number, channelId: string, send: () => Promise<string>): Promise<string> {
    const done = this.#store.sentParts(ref).get(part);
    if (done !== undefined) return done;
    const id = await send();
    this.#store.recordMessage(ref, part, channelId, id);
    return id;
  }

  #inGuild(sessionId: string): boolean {
    const session = this.#registry.getSession(sessionId);
    return this.#registry.getMessagingGroup(session.messagingGroupId).isGroup;
  }
}

/** A thread's name from the reply it starts with: its first line, cut to Discord's limit. */
export function threadName(content: string): string {
  const first = content.split("\n").map((l) => l.trim()).find((l) => l !== "") ?? "";
  const name = first.length > THREAD_NAME_LIMIT ? `${first.slice(0, THREAD_NAME_LIMIT - 1)}…` : first;
  return name === "" ? "reply" : name;
}

function reference(replyTo: string | undefined) {
  return replyTo ? { message_reference: { message_id: replyTo, fail_if_not_exists: false } } : {};
}
