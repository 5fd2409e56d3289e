/**
 * The Telegram channel end to end on the host path: grammY talking the real
 * Bot API wire protocol to a local fake server, the router, session queues,
 * delivery and the question desk, with the agent played through the
 * sandbox-side queue API.
 */
import assert from "node:assert/strict";
import { formatAskUserRequest } from "../../contract/actions.ts";
import type { SessionId } from "../../contract/ids.ts";
import { tempDir } from "../support/mod.ts";
import { FakeTelegram } from "../support/fake_telegram.ts";
import { openTelegramHost, wireChat } from "./harness.ts";
import { CALLBACK_DATA_LIMIT } from "../../src/channels/telegram/mod.ts";

const OWNER = 4242;
const STRANGER = 6666;

Deno.test("telegram: a private message reaches the session inbox and the reply lands threaded in its chat", async () => {
  using dir = tempDir();
  await using fake = FakeTelegram.start();
  await using t = await openTelegramHost(dir.path, fake);
  wireChat(t.host, OWNER, { ownerId: OWNER });

  const update = fake.sendUserMessage({ chatId: OWNER, fromId: OWNER, text: "hello agent" });
  const [handled] = await t.telegram.pollOnce();
  assert.equal(handled.updateId, update.update_id);
  assert.equal(handled.kind, "routed");
  const outcome = handled.route!.outcomes[0];
  assert.equal(outcome.kind, "engaged");
  assert.equal(handled.route!.senderId, `telegram:${OWNER}`);

  using agent = await t.host.agent(outcome.sessionId!);
  const [m] = agent.inbound.pendingMessages();
  assert.deepEqual([m.channelType, m.platformId, m.threadId, m.content], [
    "telegram",
    String(OWNER),
    null,
    "hello agent",
  ]);
  assert.equal(fake.callsOf("sendChatAction").length, 1, "typing shown while the agent works");
  assert.deepEqual(fake.callsOf("sendChatAction")[0].params, { chat_id: String(OWNER), action: "typing" });

  agent.outbound.writeMessageOut({ id: "r1", kind: "chat", inReplyTo: m.id, content: "hi human" });
  const [pass] = await t.host.delivery.deliverAll();
  assert.deepEqual(pass.handled.map((h) => h.outcome), ["delivered"]);
  const [sent] = fake.callsOf("sendMessage");
  assert.equal(sent.params.chat_id, String(OWNER));
  assert.equal(sent.params.text, "hi human");
  assert.deepEqual(sent.params.reply_parameters, {
    message_id: update.message!.message_id,
    allow_sending_without_reply: true,
  });
  assert.ok(sent.seq > fake.callsOf("sendChatAction")[0].seq);

  await t.host.delivery.deliverAll();
  assert.equal(fake.callsOf("sendMessage").length, 1, "a delivered reply is not sent again");
});

Deno.test("telegram: a forum topic is the thread, both ways", async () => {
  using dir = tempDir();
  await using fake = FakeTelegram.start();
  await using t = await openTelegramHost(dir.path, fake);
  const group = -1001234;
  wireChat(t.host, group, { ownerId: OWNER, sessionMode: "per-thread" });

  fake.sendUserMessage({ chatId: group, fromId: OWNER, text: "in a topic", threadId: 77 });
  const [handled] = await t.telegram.pollOnce();
  const sessionId = handled.route!.outcomes[0].sessionId!;
  assert.equal(t.host.registry.getSession(sessionId).threadId, "77");
  using agent = await t.host.agent(sessionId);
  const [m] = agent.inbound.pendingMessages();
  assert.equal(m.threadId, "77");
  assert.equal(fake.callsOf("sendChatAction")[0].params.message_thread_id, 77);
  agent.outbound.writeMessageOut({ id: "r1", kind: "chat", inReplyTo: m.id, content: "topic reply" });
  await t.host.delivery.deliverAll();
  const [sent] = fake.callsOf("sendMessage");
  assert.deepEqual([sent.params.chat_id, sent.params.message_thread_id], [String(group), 77]);
});

Deno.test("telegram: in a group under `mention`, only a message that mentions the bot engages", async () => {
  using dir = tempDir();
  await using fake = FakeTelegram.start();
  await using t = await openTelegramHost(dir.path, fake);
  const group = -100555;
  wireChat(t.host, group, { ownerId: OWNER, engageMode: "mention" });

  fake.sendUserMessage({ chatId: group, fromId: OWNER, chatType: "supergroup", text: "just chatting" });
  const text = `@${fake.bot.username} what time is it?`;
  fake.sendUserMessage({
    chatId: group,
    fromId: OWNER,
    chatType: "supergroup",
    text,
    entities: [{ type: "mention", offset: 0, length: fake.bot.username.length + 1 }],
  });
  fake.sendUserMessage({
    chatId: group,
    fromId: OWNER,
    chatType: "supergroup",
    text: "@someone_else hi",
    entities: [{ type: "mention", offset: 0, length: 13 }],
  });
  const [quiet, loud, other] = await t.telegram.pollOnce();
  assert.deepEqual([quiet.route!.outcomes[0].kind, quiet.route!.outcomes[0].sessionId], [
    "not-engaged",
    null,
  ]);
  assert.equal(loud.route!.outcomes[0].kind, "engaged");
  assert.equal(other.route!.outcomes[0].kind, "not-engaged");
  using agent = await t.host.agent(loud.route!.outcomes[0].sessionId!);
  assert.deepEqual(agent.inbound.pendingMessages().map((m) => m.content), [text]);
  assert.equal(t.host.waker.wakes.length, 1);
  assert.equal(fake.callsOf("sendChatAction").length, 1);
});

Deno.test("telegram: unknown senders — strict drops, public engages", async () => {
  using dir = tempDir();
  await using fake = FakeTelegram.start();
  await using t = await openTelegramHost(dir.path, fake);
  wireChat(t.host, -1001, { policy: "strict" });
  wireChat(t.host, -1002, { policy: "public", senderScope: "all" });

  fake.sendUserMessage({ chatId: -1001, fromId: STRANGER, text: "let me in" });
  fake.sendUserMessage({ chatId: -1002, fromId: STRANGER, text: "hello there" });
  const [strict, open] = await t.telegram.pollOnce();
  assert.deepEqual([strict.route!.outcomes[0].kind, strict.route!.outcomes[0].sessionId], [
    "access-denied",
    null,
  ]);
  assert.equal(open.route!.outcomes[0].kind, "engaged");
  using agent = await t.host.agent(open.route!.outcomes[0].sessionId!);
  assert.deepEqual(agent.inbound.pendingMessages().map((m) => m.content), ["hello there"]);
  assert.deepEqual(t.host.registry.listSessions().map((s) => s.id), [open.route!.outcomes[0].sessionId]);
  assert.equal(fake.callsOf("sendMessage").length, 0, "nothing is said to a dropped stranger");
});

Deno.test("telegram: request_approval files one access request; once approved the sender gets through", async () => {
  using dir = tempDir();
  await using fake = FakeTelegram.start();
  await using t = await openTelegramHost(dir.path, fake);
  wireChat(t.host, STRANGER, { policy: "request_approval", isGroup: false });

  fake.sendUserMessage({ chatId: STRANGER, fromId: STRANGER, text: "may I?" });
  fake.sendUserMessage({ chatId: STRANGER, fromId: STRANGER, text: "please?" });
  const [first, again] = await t.telegram.pollOnce();
  assert.equal(first.route!.outcomes[0].kind, "approval-requested");
  assert.equal(again.route!.outcomes[0].changeId, first.route!.outcomes[0].changeId);
  const pending = t.host.gateway.pending();
  assert.equal(pending.length, 1);
  assert.deepEqual(pending[0].request.after, { addMembers: [`telegram:${STRANGER}`] });
  assert.equal(t.host.registry.listSessions().length, 0);

  await t.host.gateway.decide(first.route!.outcomes[0].changeId!, "approve", "web:operator");
  fake.sendUserMessage({ chatId: STRANGER, fromId: STRANGER, text: "thanks!" });
  const [admitted] = await t.telegram.pollOnce();
  assert.equal(admitted.route!.outcomes[0].kind, "engaged");
  using agent = await t.host.agent(admitted.route!.outcomes[0].sessionId!);
  assert.deepEqual(agent.inbound.pendingMessages().map((m) => m.content), ["thanks!"]);
});

/** The agent asks `request` through `ask_user_question`; delivery records it and the channel posts it. */
async function ask(
  t: Awaited<ReturnType<typeof openTelegramHost>>,
  agent: { outbound: { writeMessageOut(m: { id: string; kind: "system"; content: string }): unknown } },
  request: Parameters<typeof formatAskUserRequest>[0],
) {
  agent.outbound.writeMessageOut({ id: "ask1", kind: "system", content: formatAskUserRequest(request) });
  const [pass] = await t.host.delivery.deliverAll();
  assert.deepEqual(pass.handled.map((h) => h.outcome), ["asked"]);
  assert.equal(await t.telegram.postQuestions(), 1);
}

/** Routes one owner message in a private chat and returns its session. */
async function openConversation(t: Awaited<ReturnType<typeof openTelegramHost>>, fake: FakeTelegram) {
  wireChat(t.host, OWNER, { ownerId: OWNER });
  fake.sendUserMessage({ chatId: OWNER, fromId: OWNER, text: "start" });
  const [handled] = await t.telegram.pollOnce();
  return handled.route!.outcomes[0].sessionId! as SessionId;
}

Deno.test("telegram: a question becomes buttons; a press answers it into the agent's inbox", async () => {
  using dir = tempDir();
  await using fake = FakeTelegram.start();
  await using t = await openTelegramHost(dir.path, fake);
  const sessionId = await openConversation(t, fake);
  using agent = await t.host.agent(sessionId);
  await ask(t, agent, { question: "Deploy now?", options: ["yes", "not yet"] });
  const [question] = t.host.desk.pending();
  assert.equal(await t.telegram.postQuestions(), 0, "a question is posted once");
  const [post] = fake.callsOf("sendMessage");
  assert.equal(post.params.chat_id, String(OWNER));
  const keyboard =
    (post.params.reply_markup as { inline_keyboard: { text: string; callback_data: string }[][] })
      .inline_keyboard;
  assert.deepEqual(keyboard.map((row) => row.map((b) => b.text)), [["yes"], ["not yet"]]);
  for (const [b] of keyboard) {
    assert.ok(new TextEncoder().encode(b.callback_data).length <= CALLBACK_DATA_LIMIT);
    assert.ok(b.callback_data.includes(question.id));
  }
  const posted = fake.sentMessage(post);

  // A stranger's press, and a button replayed onto another message, are refused.
  fake.pressButton(posted, STRANGER, keyboard[0][0].callback_data);
  fake.pressButton({ ...posted, message_id: posted.message_id + 99 }, OWNER, keyboard[0][0].callback_data);
  fake.pressButton(posted, OWNER, keyboard[1][0].callback_data, "boss");
  const [stranger, replayed, owner] = await t.telegram.pollOnce();
  assert.equal(stranger.kind, "refused");
  assert.equal(replayed.kind, "refused");
  assert.deepEqual([owner.kind, owner.questionId], ["answered", question.id]);

  const acks = fake.callsOf("answerCallbackQuery");
  assert.equal(acks.length, 3, "every press is acknowledged");
  assert.equal(acks[0].params.show_alert, true);
  assert.equal(acks[2].params.text, "Answered: not yet");
  assert.equal(t.host.desk.get(question.id).answer, "not yet");
  assert.equal(t.host.desk.get(question.id).answeredBy, `telegram:${OWNER}`);
  const answer = agent.inbound.pendingMessages().find((m) => m.content.includes("Deploy now?"));
  assert.ok(answer, "the answer is in the agent's inbox");
  assert.match(answer.content, /Answer: not yet/);
  assert.equal(answer.trigger, 1);
  assert.ok(t.host.waker.wakes.includes(sessionId));
  const [edit] = fake.callsOf("editMessageText");
  assert.equal(edit.params.message_id, posted.message_id);
  assert.match(String(edit.params.text), /not yet \(@boss\)/);
});

Deno.test("telegram: a free-text question is answered by replying to it", async () => {
  using dir = tempDir();
  await using fake = FakeTelegram.start();
  await using t = await openTelegramHost(dir.path, fake);
  const sessionId = await openConversation(t, fake);
  using agent = await t.host.agent(sessionId);
  await ask(t, agent, { question: "Which city?" });
  const [post] = fake.callsOf("sendMessage");
  assert.equal(post.params.reply_markup, undefined);
  fake.sendUserMessage({ chatId: OWNER, fromId: OWNER, text: "Lisbon", replyTo: fake.sentMessage(post) });
  const [handled] = await t.telegram.pollOnce();
  assert.equal(handled.kind, "answered");
  assert.match(agent.inbound.pendingMessages().at(-1)!.content, /Answer: Lisbon/);
  assert.ok(!agent.inbound.pendingMessages().some((m) => m.content === "Lisbon"), "not routed as chat too");
});

Deno.test("telegram: a 429 with retry_after is waited out and the call repeated", async () => {
  using dir = tempDir();
  await using fake = FakeTelegram.start();
  await using t = await openTelegramHost(dir.path, fake);
  const sessionId = await openConversation(t, fake);
  using agent = await t.host.agent(sessionId);
  agent.outbound.writeMessageOut({ id: "r1", kind: "chat", content: "after the flood" });
  fake.failNext("sendMessage", { status: 429, retryAfter: 3 });
  const [pass] = await t.host.delivery.deliverAll();
  assert.deepEqual(pass.handled.map((h) => h.outcome), ["delivered"]);
  const sends = fake.callsOf("sendMessage");
  assert.deepEqual(sends.map((c) => c.status), [429, 200]);
  assert.equal(sends[1].params.text, "after the flood");
  assert.equal(t.sleeps.length, 1);
  assert.equal(t.sleeps[0].ms, 3000, "the wait is the retry_after Telegram stated");
  assert.ok(sends[0].seq < t.sleeps[0].callsSoFar, "the wait came after the 429…");
  assert.ok(t.sleeps[0].callsSoFar <= sends[1].seq, "…and before the retry");
});

Deno.test("telegram: a retry_after beyond the cap leaves the reply to delivery's next pass", async () => {
  using dir = tempDir();
  await using fake = FakeTelegram.start();
  await using t = await openTelegramHost(dir.path, fake, { retry: { maxDelaySeconds: 5 } });
  const sessionId = await openConversation(t, fake);
  using agent = await t.host.agent(sessionId);
  agent.outbound.writeMessageOut({ id: "r1", kind: "chat", content: "patience" });
  fake.failNext("sendMessage", { status: 429, retryAfter: 600 });
  const [held] = await t.host.delivery.deliverAll();
  assert.equal(held.retry.length, 1);
  assert.match(held.retry[0].error, /429/);
  const [done] = await t.host.delivery.deliverAll();
  assert.deepEqual(done.handled.map((h) => h.outcome), ["delivered"]);
  assert.deepEqual(fake.callsOf("sendMessage").map((c) => c.status), [429, 200]);
});

Deno.test("telegram: a long reply is split under 4096 and a failed piece is resent alone", async () => {
  using dir = tempDir();
  await using fake = FakeTelegram.start();
  await using t = await openTelegramHost(dir.path, fake);
  const sessionId = await openConversation(t, fake);
  using agent = await t.host.agent(sessionId);
  const [start] = agent.inbound.pendingMessages();
  const paragraph = "word ".repeat(700).trim();
  const long = [paragraph, paragraph, paragraph].join("\n");
  agent.outbound.writeMessageOut({ id: "r1", kind: "chat", inReplyTo: start.id, content: long });
  // The first piece goes through, the second hits a server error: delivery keeps the row.
  fake.failAt("sendMessage", 1, { status: 502 });
  const [held] = await t.host.delivery.deliverAll();
  assert.equal(held.retry.length, 1);
  const [done] = await t.host.delivery.deliverAll();
  assert.deepEqual(done.handled.map((h) => h.outcome), ["delivered"]);
  const sends = fake.callsOf("sendMessage");
  assert.deepEqual(sends.map((c) => c.status), [200, 502, 200, 200], "the first piece is not sent twice");
  const delivered = sends.filter((c) => c.status === 200);
  assert.deepEqual(delivered.map((c) => c.params.text), [paragraph, paragraph, paragraph]);
  assert.ok(sends.every((c) => String(c.params.text).length <= 4096));
  assert.deepEqual(delivered.map((c) => c.params.reply_parameters !== undefined), [true, false, false]);
});
