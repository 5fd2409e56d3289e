/**
 * A Slack message event read as a router event: the conversation is the
 * messaging group (`platformId` = channel id), the sender is
 * `slack:<user id>`, a thread is its root's `ts`, and in a channel the bot
 * is engaged by an `@mention` (`<@bot user id>`) or by a reply in the
 * thread of one of its questions; a direct message always addresses it.
 *
 * @module
 */
import { z } from "zod";
import type { InboundEvent } from "../../router/mod.ts";

/** The channel type, and so the namespace of Slack user ids (`slack:<id>`). */
export const SLACK_CHANNEL = "slack";

/** Who the bot is (from `auth.test`). */
export interface SlackIdentity {
  /** The bot's user id (what a mention names). */
  userId: string;
  botId: string;
  /** Its name, for log lines. */
  name: string;
}

/** A file of a message, as the Events API gives it. */
export const SlackFile = z.object({
  id: z.string(),
  name: z.string().optional(),
  title: z.string().optional(),
  mimetype: z.string().optional(),
  size: z.number().optional(),
  url_private: z.string().optional(),
  url_private_download: z.string().optional(),
});
export type SlackFile = z.infer<typeof SlackFile>;

/** The message event fields the channel reads (the rest passes through unread). */
export const SlackMessageEvent = z.object({
  type: z.literal("message"),
  subtype: z.string().optional(),
  channel: z.string(),
  channel_type: z.string().optional(),
  user: z.string().optional(),
  bot_id: z.string().optional(),
  text: z.string().optional(),
  ts: z.string(),
  thread_ts: z.string().optional(),
  files: z.array(SlackFile).optional(),
});
export type SlackMessageEvent = z.infer<typeof SlackMessageEvent>;

/** A message the channel handles, with its router event. */
export interface ParsedSlackMessage {
  event: InboundEvent & { threadId: string | null; mentioned: boolean; isGroup: boolean };
  channelId: string;
  /** The message's own `ts` (its id in the conversation). */
  ts: string;
  /** The thread it was posted in, if any (its root's `ts`). */
  threadTs?: string;
  files: SlackFile[];
}

/** Why a message event is not handled. */
export type SlackSkipReason = "not-a-message" | "edit-or-system" | "from-bot" | "no-sender" | "empty";

/** Subtypes that are people speaking; every other subtype (edits, joins, deletions) is not a message to route. */
const SPOKEN_SUBTYPES = new Set(["file_share", "thread_broadcast"]);

/**
 * The router event of a Slack `message` event, or why it is skipped:
 * another shape, an edit or a system message, a bot (itself included: no
 * loops), no user, or nothing to say.
 */
export function parseSlackMessage(raw: unknown, bot: SlackIdentity): ParsedSlackMessage | SlackSkipReason {
  const parsed = SlackMessageEvent.safeParse(raw);
  if (!parsed.success) return "not-a-message";
  const msg = parsed.data;
  if (msg.subtype !== undefined && !SPOKEN_SUBTYPES.has(msg.subtype)) return "edit-or-system";
  if (msg.bot_id !== undefined || msg.user === bot.userId) return "from-bot";
  if (!msg.user) return "no-sender";
  const text = msg.text ?? "";
  const files = msg.files ?? [];
  if (text.trim() === "" && files.length === 0) return "empty";
  const isDirect = msg.channel_type === "im" || msg.channel.startsWith("D");
  return {
    event: {
      channelType: SLACK_CHANNEL,
      platformId: msg.channel,
      isGroup: !isDirect,
      threadId: msg.thread_ts ?? null,
      senderHandle: msg.user,
      text,
      mentioned: isDirect || mentionsBot(text, bot),
    },
    channelId: msg.channel,
    ts: msg.ts,
    ...(msg.thread_ts ? { threadTs: msg.thread_ts } : {}),
    files,
  };
}

/** True when `text` mentions the bot (`<@U123>` or `<@U123|name>`). */
export function mentionsBot(text: string, bot: Pick<SlackIdentity, "userId">): boolean {
  return text.includes(`<@${bot.userId}>`) || text.includes(`<@${bot.userId}|`);
}

/** True for a direct-message conversation (Slack's ids of those start with `D`). */
export function isDirectConversation(channelId: string): boolean {
  return channelId.startsWith("D");
}
