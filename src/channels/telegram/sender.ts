/**
 * Sending to Telegram: replies threaded onto the message they answer
 * (`reply_parameters`, and `message_thread_id` in forum topics), text cut at
 * the platform's 4096 characters with each piece recorded as sent (so a
 * retried reply sends only what is missing), `send_file` replies and files
 * as documents, short notices, and the typing action.
 *
 * @module
 */
import type { ChannelFile, ChannelMessage, ChannelTarget } from "../../delivery/mod.ts";
import type { TelegramClient } from "./bot_client.ts";
import { type ChannelStore, parseFileReply, safeFileName, splitMessage } from "../kit/mod.ts";
import { apiSignal, InputFile } from "./grammy.ts";
import { TELEGRAM_CAPTION_LIMIT, TELEGRAM_TEXT_LIMIT } from "./limits.ts";

/** Where a message goes on Telegram. */
export interface Destination {
  chatId: string;
  threadId?: number;
  replyTo?: number;
}

/** Sends replies, files, notices and typing actions through one client, remembering what it sent. */
export class TelegramSender {
  #client: TelegramClient;
  #store: ChannelStore;

  constructor(client: TelegramClient, store: ChannelStore) {
    this.#client = client;
    this.#store = store;
  }

  /** Where a reply goes: its chat, its topic, and the Telegram message it answers when known there. */
  destination(message: Pick<ChannelMessage, "platformId" | "threadId" | "inReplyTo">): Destination {
    return {
      chatId: message.platformId,
      ...threadOf(message.threadId),
      ...this.#replyTo(message.inReplyTo, message.platformId),
    };
  }

  /** Where a file sent to `target` goes. */
  targetDestination(target: ChannelTarget): Destination {
    return this.destination({
      platformId: target.platformId,
      threadId: target.threadId,
      inReplyTo: target.inReplyTo ?? null,
    });
  }

  /**
   * Sends reply `message` to `dest`: a `send_file` reply as a document,
   * anything else as text in pieces of at most 4096 characters; pieces
   * already sent (before a crash or a failed piece) are not sent again.
   * Resolves to the Telegram message ids, comma-separated (null: nothing to send).
   */
  async reply(message: ChannelMessage, dest: Destination): Promise<string | null> {
    const document = parseFileReply(message.content);
    if (document) {
      return await this.#once(
        message.id,
        0,
        dest.chatId,
        () => this.document(dest, { name: document.name, bytes: document.bytes, caption: document.caption }),
      );
    }
    const ids: string[] = [];
    for (const [i, piece] of splitMessage(message.content, TELEGRAM_TEXT_LIMIT).entries()) {
      // Only the first piece threads onto the message it answers.
      const target = i === 0 ? dest : { ...dest, replyTo: undefined };
      ids.push(
        await this.#once(message.id, i, dest.chatId, async () => {
          const sent = await this.#client.call(
            "sendMessage",
            () => this.#client.bot.api.sendMessage(dest.chatId, piece, sendOptions(target)),
          );
          return String(sent.message_id);
        }),
      );
    }
    return ids.length > 0 ? ids.join(",") : null;
  }

  /** Sends `file` as a document; resolves to its message id. */
  async document(dest: Destination, file: ChannelFile): Promise<string> {
    const caption = file.caption?.slice(0, TELEGRAM_CAPTION_LIMIT);
    const sent = await this.#client.call(
      "sendDocument",
      () =>
        this.#client.bot.api.sendDocument(dest.chatId, new InputFile(file.bytes, safeFileName(file.name)), {
          ...sendOptions(dest),
          ...(caption ? { caption } : {}),
        }),
    );
    return String(sent.message_id);
  }

  /** Sends `text` to `dest`; true once sent, false (logged) when it could not be. */
  async notice(dest: Destination, text: string, signal?: AbortSignal): Promise<boolean> {
    try {
      await this.#client.call(
        "sendMessage",
        () => this.#client.bot.api.sendMessage(dest.chatId, text, sendOptions(dest), apiSignal(signal)),
      );
      return true;
    } catch (err) {
      this.#client.warn("a notice to chat {chatId} failed: {error}", err, { chatId: dest.chatId });
      return false;
    }
  }

  /** Shows "typing" once in the chat (and topic). */
  async typing(chatId: string, threadId: string | null, signal?: AbortSignal): Promise<void> {
    await this.#client.call(
      "sendChatAction",
      () => this.#client.bot.api.sendChatAction(chatId, "typing", threadOption(threadId), apiSignal(signal)),
    );
  }

  /** Runs `send` unless piece `part` of `ref` was sent already; records it once sent. */
  async #once(ref: string, part: number, chatId: string, send: () => Promise<string>): Promise<string> {
    const done = this.#store.sentParts(ref).get(part);
    if (done !== undefined) return done;
    const id = await send();
    this.#store.recordMessage(ref, part, chatId, id);
    return id;
  }

  /** The Telegram message an inbound row came from, when it is in `chatId`. */
  #replyTo(inReplyTo: string | null, chatId: string): { replyTo?: number } {
    if (!inReplyTo) return {};
    const ref = this.#store.message(inReplyTo);
    return ref && ref.chatId === chatId ? { replyTo: Number(ref.messageId) } : {};
  }
}

/** A topic id as Telegram takes it (a forum topic's thread is its numeric id). */
export function threadOf(threadId: string | null): { threadId?: number } {
  return threadId !== null && /^\d{1,15}$/.test(threadId) ? { threadId: Number(threadId) } : {};
}

/** The `message_thread_id` option of a topic, if any. */
export function threadOption(threadId: string | null): { message_thread_id?: number } {
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
