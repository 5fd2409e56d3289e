import assert from "node:assert/strict";
import type { Message } from "grammy/types";
import { mentionsBot, parseMessage } from "./inbound.ts";

const bot = { id: 99, username: "IronBot" };
const user = { id: 7, is_bot: false, first_name: "Ann" };
const base = { message_id: 10, date: 0, from: user };
const dm = (extra: object = {}) =>
  ({ ...base, chat: { id: 7, type: "private", first_name: "Ann" }, text: "hi", ...extra }) as Message;
const group = (extra: object = {}) =>
  ({ ...base, chat: { id: -100, type: "supergroup", title: "G" }, text: "hi all", ...extra }) as Message;

Deno.test("inbound: a private message addresses the bot; the sender is namespaced by user id", () => {
  const p = parseMessage(dm(), bot);
  assert.ok(typeof p !== "string");
  assert.deepEqual(p.event, {
    channelType: "telegram",
    platformId: "7",
    isGroup: false,
    threadId: null,
    senderHandle: "7",
    text: "hi",
    mentioned: true,
  });
});

Deno.test("inbound: in groups, @username, text mentions, /cmd@bot and replies to the bot mention it", () => {
  const plain = parseMessage(group(), bot);
  assert.ok(typeof plain !== "string" && plain.event.mentioned === false && plain.event.isGroup);
  const at = parseMessage(
    group({ text: "hey @ironbot", entities: [{ type: "mention", offset: 4, length: 8 }] }),
    bot,
  );
  assert.ok(typeof at !== "string" && at.event.mentioned);
  const cmd = parseMessage(
    group({ text: "/help@IronBot", entities: [{ type: "bot_command", offset: 0, length: 13 }] }),
    bot,
  );
  assert.ok(typeof cmd !== "string" && cmd.event.mentioned);
  const reply = parseMessage(group({ reply_to_message: { ...base, from: { ...user, id: 99 } } }), bot);
  assert.ok(typeof reply !== "string" && reply.event.mentioned && reply.replyTo?.fromBot);
  assert.equal(mentionsBot("hi @IronBotX", [{ type: "mention", offset: 3, length: 9 }], bot), false);
  assert.equal(
    mentionsBot("Iron", [{ type: "text_mention", offset: 0, length: 4, user: { ...user, id: 99 } }], bot),
    true,
  );
});

Deno.test("inbound: topics are threads; bots, anonymous senders, channels and empty service messages are skipped", () => {
  const topic = parseMessage(
    group({ message_thread_id: 5, is_topic_message: true, reply_to_message: { ...base, message_id: 5 } }),
    bot,
  );
  assert.ok(typeof topic !== "string");
  assert.equal(topic.event.threadId, "5");
  assert.equal(topic.replyTo, undefined, "the topic's head is not a reply");
  assert.equal(parseMessage(dm({ from: { ...user, is_bot: true } }), bot), "from-bot");
  assert.equal(
    parseMessage(group({ sender_chat: { id: -100, type: "supergroup", title: "G" } }), bot),
    "no-sender",
  );
  assert.equal(
    parseMessage({ ...dm(), chat: { id: -5, type: "channel", title: "C" } } as Message, bot),
    "channel-chat",
  );
  assert.equal(parseMessage(dm({ text: undefined }), bot), "empty");
  assert.ok(
    typeof parseMessage(dm({ text: undefined }), bot, true) !== "string",
    "an attachment alone counts",
  );
});
