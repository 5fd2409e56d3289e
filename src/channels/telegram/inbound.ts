/**
 * A Telegram message read as a router event: the chat is the messaging
 * group (`platformId` = chat id), the sender is `telegram:<user id>`, a
 * forum topic is the thread, and in a group the bot is mentioned by
 * `@username`, a text mention, a `/command@username`, or a reply to one of
 * its messages. A private chat always addresses the bot.
 *
 * @module
 */
import type { Message, MessageEntity } from "grammy/types";
import type { InboundEvent } from "../../router/mod.ts";

/** The channel type, and so the namespace of Telegram user ids (`telegram:<id>`). */
export const TELEGRAM_CHANNEL = "telegram";

/** Who the bot is (from `getMe`). */
export interface BotIdentity {
  id: number;
  username: string;
}

/** A message the channel handles, with its router event. */
export interface ParsedMessage {
  event: InboundEvent & { threadId: string | null; mentioned: boolean; isGroup: boolean };
  chatId: string;
  messageId: string;
  /** The message it replies to, if any. */
  replyTo?: { messageId: string; fromBot: boolean };
}

/** Why a message is not handled. */
export type SkipReason = "no-sender" | "from-bot" | "channel-chat" | "empty";

/**
 * The router event of `msg` (its text or caption; attachments are added by
 * the caller), or why it is skipped: no user sender (anonymous admins,
 * posts on behalf of a chat), another bot (no bot-to-bot loops), a channel,
 * or a service message with nothing to say.
 */
export function parseMessage(
  msg: Message,
  bot: BotIdentity,
  hasAttachment = false,
): ParsedMessage | SkipReason {
  if (msg.chat.type === "channel") return "channel-chat";
  if (!msg.from || msg.sender_chat) return "no-sender";
  if (msg.from.is_bot) return "from-bot";
  const text = msg.text ?? msg.caption ?? "";
  if (text.trim() === "" && !hasAttachment) return "empty";
  const isGroup = msg.chat.type !== "private";
  const reply = msg.reply_to_message;
  const replyTo = reply && !isTopicHead(msg)
    ? { messageId: String(reply.message_id), fromBot: reply.from?.id === bot.id }
    : undefined;
  const mentioned = !isGroup || replyTo?.fromBot === true ||
    mentionsBot(text, msg.entities ?? msg.caption_entities ?? [], bot);
  const threadId = msg.is_topic_message && msg.message_thread_id ? String(msg.message_thread_id) : null;
  return {
    event: {
      channelType: TELEGRAM_CHANNEL,
      platformId: String(msg.chat.id),
      isGroup,
      threadId,
      senderHandle: String(msg.from.id),
      text,
      mentioned,
    },
    chatId: String(msg.chat.id),
    messageId: String(msg.message_id),
    ...(replyTo ? { replyTo } : {}),
  };
}

/** In a forum, a message "replies" to its topic's first message; that is not a real reply. */
function isTopicHead(msg: Message): boolean {
  return msg.is_topic_message === true && msg.reply_to_message?.message_id === msg.message_thread_id;
}

/** True when the entities of `text` mention the bot. Offsets count UTF-16 code units, as JS strings do. */
export function mentionsBot(text: string, entities: readonly MessageEntity[], bot: BotIdentity): boolean {
  const handle = `@${bot.username}`.toLowerCase();
  for (const e of entities) {
    const slice = text.slice(e.offset, e.offset + e.length).toLowerCase();
    if (e.type === "mention" && slice === handle) return true;
    if (e.type === "text_mention" && e.user.id === bot.id) return true;
    if (e.type === "bot_command" && slice.endsWith(handle)) return true;
  }
  return false;
}
