import assert from "node:assert/strict";
import { type GatewayMessage, type ParsedMessage, parseMessage, type Place } from "./inbound.ts";

const bot = { id: "900", username: "claw" };
const here: Place = { chatId: "2000", threadId: null };

function message(extra: Partial<GatewayMessage> = {}): GatewayMessage {
  return {
    id: "7001",
    channel_id: "2000",
    guild_id: "500",
    author: { id: "42", username: "ann", discriminator: "0", global_name: null, avatar: null },
    content: "hello",
    timestamp: "2026-12-07T00:00:00.000Z",
    edited_timestamp: null,
    tts: false,
    mention_everyone: false,
    mentions: [],
    mention_roles: [],
    attachments: [],
    embeds: [],
    pinned: false,
    type: 0,
    ...extra,
  } as GatewayMessage;
}

function parsed(extra: Partial<GatewayMessage>, place: Place = here): ParsedMessage {
  const p = parseMessage(message(extra), { bot, place });
  assert.ok(typeof p !== "string", `skipped: ${p}`);
  return p;
}

Deno.test("discord inbound: a guild message engages only by mention, reply to the bot, or in the bot's thread", () => {
  assert.equal(parsed({}).event.mentioned, false);
  const mention = parsed({ content: "<@900> hi <@!900>", mentions: [{ ...message().author, id: "900" }] });
  assert.equal(mention.event.mentioned, true);
  assert.equal(mention.event.text, "@claw hi @claw", "the bot's mentions read as @name");
  assert.deepEqual(
    [mention.event.channelType, mention.event.platformId, mention.event.senderHandle, mention.event.isGroup],
    ["discord", "2000", "42", true],
  );
  const reply = parsed({
    type: 19,
    message_reference: { message_id: "6000", channel_id: "2000" },
    referenced_message: message({ id: "6000", author: { ...message().author, id: "900" } }),
  });
  assert.deepEqual([reply.event.mentioned, reply.replyTo], [true, { messageId: "6000", fromBot: true }]);
  const inThread = parsed({ channel_id: "3000" }, { chatId: "2000", threadId: "3000", botThread: true });
  assert.deepEqual([
    inThread.event.mentioned,
    inThread.event.platformId,
    inThread.event.threadId,
    inThread.channelId,
  ], [
    true,
    "2000",
    "3000",
    "3000",
  ]);
  const userThread = parsed({ channel_id: "3001" }, { chatId: "2000", threadId: "3001" });
  assert.equal(userThread.event.mentioned, false, "someone else's thread still needs a mention");
});

Deno.test("discord inbound: a DM always addresses the bot; bots, webhooks, system and empty messages are skipped", () => {
  const dm = parsed({ guild_id: undefined, channel_id: "77" }, { chatId: "77", threadId: null });
  assert.deepEqual([dm.event.mentioned, dm.event.isGroup, dm.guildId], [true, false, undefined]);
  const skip = (extra: Partial<GatewayMessage>, hasAttachment = false) =>
    parseMessage(message(extra), { bot, place: here, hasAttachment });
  assert.equal(skip({ author: { ...message().author, bot: true } }), "from-bot");
  assert.equal(skip({ webhook_id: "1" }), "webhook");
  assert.equal(skip({ type: 7 }), "system", "a member joined");
  assert.equal(skip({ content: "  " }), "empty");
  assert.equal(typeof skip({ content: "" }, true), "object", "an attachment alone is a message");
});
