/**
 * A Discord message read as a router event. The chat (messaging group) is
 * the channel the message was posted in, or, for a message in a thread,
 * the thread's parent channel with the thread as `threadId` (so a
 * conversation that moved into a thread keeps its session). The sender is
 * `discord:<user id>`. A DM always addresses the bot; in a guild channel the
 * bot is engaged by a mention (`<@id>`), a reply to one of its messages, or
 * any message in a thread it started for a reply.
 *
 * @module
 */
import type { APIMessage } from "@discordjs/core";
import type { InboundEvent } from "../../router/mod.ts";

/** The channel type, and so the namespace of Discord user ids (`discord:<id>`). */
export const DISCORD_CHANNEL = "discord";

/** Discord's limit on a message's content, in characters. */
export const DISCORD_TEXT_LIMIT = 2000;

/** Who the bot is (from `users/@me`). */
export interface BotIdentity {
  id: string;
  username: string;
}

/** Where a message was posted, as the router sees it: the chat, and the thread in it. */
export interface Place {
  /** The channel (a DM, a guild text channel, or a thread's parent). */
  chatId: string;
  /** The thread channel, when the message is in one. */
  threadId: string | null;
  /** True for a thread the bot started for one of its replies: every message there engages it. */
  botThread?: boolean;
}

/** A message the channel handles, with its router event. */
export interface ParsedMessage {
  event: InboundEvent & { threadId: string | null; mentioned: boolean; isGroup: boolean };
  /** The Discord channel it was posted in (the thread, when in one): where a reply to it goes. */
  channelId: string;
  chatId: string;
  messageId: string;
  guildId?: string;
  /** The message it replies to, if any. */
  replyTo?: { messageId: string; fromBot: boolean };
}

/** Why a message is not handled. */
export type SkipReason = "from-bot" | "webhook" | "system" | "empty";

/** A MESSAGE_CREATE's message (the gateway adds its guild). */
export type GatewayMessage = APIMessage & { guild_id?: string };

/** Message types that carry what a person wrote: DEFAULT (0) and REPLY (19). */
const USER_MESSAGE_TYPES = new Set([0, 19]);

/**
 * The router event of `msg` posted at `place` (attachments are added by the
 * caller), or why it is skipped: a bot (no bot-to-bot loops, our own
 * messages included), a webhook, a system message (joins, pins), or nothing
 * to say.
 */
export function parseMessage(
  msg: GatewayMessage,
  how: { bot: BotIdentity; place: Place; hasAttachment?: boolean },
): ParsedMessage | SkipReason {
  if (msg.webhook_id) return "webhook";
  if (msg.author.bot) return "from-bot";
  if (!USER_MESSAGE_TYPES.has(msg.type)) return "system";
  const { bot, place } = how;
  const text = readableMentions(msg.content ?? "", bot);
  if (text.trim() === "" && !how.hasAttachment) return "empty";
  const isGroup = msg.guild_id !== undefined;
  const ref = msg.message_reference?.message_id;
  const replyTo = ref ? { messageId: ref, fromBot: msg.referenced_message?.author.id === bot.id } : undefined;
  const mentioned = !isGroup || place.botThread === true || replyTo?.fromBot === true ||
    msg.mentions.some((u) => u.id === bot.id);
  return {
    event: {
      channelType: DISCORD_CHANNEL,
      platformId: place.chatId,
      isGroup,
      threadId: place.threadId,
      senderHandle: msg.author.id,
      text,
      mentioned,
    },
    channelId: msg.channel_id,
    chatId: place.chatId,
    messageId: msg.id,
    ...(msg.guild_id ? { guildId: msg.guild_id } : {}),
    ...(replyTo ? { replyTo } : {}),
  };
}

/** `text` with the bot's `<@id>` mentions written `@name`, as a person reads them. */
export function readableMentions(text: string, bot: BotIdentity): string {
  return text.replaceAll(new RegExp(`<@!?${bot.id}>`, "g"), `@${bot.username}`);
}
