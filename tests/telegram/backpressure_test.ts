/**
 * The Telegram channel under per-session back-pressure, against the fake Bot
 * API server with a tiny backlog cap and a stopped agent (nothing takes its
 * messages up): a message over the cap is a final refusal, not a failure.
 * It is consumed (never redelivered), starts no typing, fetches no file,
 * and the chat is told once per shedding episode; the bot's other chats
 * keep flowing, in the polling loop and in webhook mode alike.
 */
import assert from "node:assert/strict";
import { reset } from "@logtape/logtape";
import type { LogRecord } from "@logtape/logtape";
import type { Message } from "grammy/types";
import type { SessionId } from "../../contract/ids.ts";
import { BACKLOG_NOTICE } from "../../src/channels/telegram/runtime.ts";
import { configureLogging } from "../../src/log/mod.ts";
import { tempDir } from "../support/mod.ts";
import { FakeTelegram, type RecordedCall } from "../support/fake_telegram.ts";
import { openTelegramHost, type TelegramHost, wireChat } from "./harness.ts";

const OWNER = 4242;
const FRIEND = 5151;
/** Long enough for a loaded machine; the old retry-and-back-off took minutes for the same burst. */
const PROMPT_MS = 10_000;

/** The backlog notices sent so far. */
function notices(fake: FakeTelegram): RecordedCall[] {
  return fake.callsOf("sendMessage").filter((c) => c.params.text === BACKLOG_NOTICE);
}

/** The Telegram message a call replied to. */
function repliedTo(call: RecordedCall): number | undefined {
  return (call.params.reply_parameters as { message_id: number } | undefined)?.message_id;
}

/** What the session's (stopped) agent has waiting, by content. */
async function waiting(t: TelegramHost, sessionId: SessionId): Promise<string[]> {
  using agent = await t.host.agent(sessionId);
  return agent.inbound.pendingMessages().map((m) => m.content);
}

/** The agent answers everything it has waiting, and delivery mirrors that: the backlog drains. */
async function drain(t: TelegramHost, sessionId: SessionId): Promise<void> {
  using agent = await t.host.agent(sessionId);
  agent.outbound.markCompleted(agent.inbound.pendingMessages().map((m) => m.id));
  await t.host.delivery.deliverSession(sessionId);
}

/** Every file name under `dir`, recursively (none when it does not exist). */
function namesUnder(dir: string): string[] {
  const names: string[] = [];
  try {
    for (const e of Deno.readDirSync(dir)) {
      names.push(e.name);
      if (e.isDirectory) names.push(...namesUnder(`${dir}/${e.name}`));
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return names;
}

Deno.test("telegram back-pressure: over-cap messages are consumed, told once per episode, other chats unaffected", async () => {
  const logs: LogRecord[] = [];
  await configureLogging({ sink: (r) => void logs.push(r), level: "debug" });
  try {
    using dir = tempDir();
    await using fake = FakeTelegram.start();
    await using t = await openTelegramHost(dir.path, fake, {}, false, { backlogCap: 2 });
    wireChat(t.host, OWNER, { ownerId: OWNER });
    wireChat(t.host, FRIEND, { ownerId: FRIEND });

    // Two messages fill the session's backlog: its agent takes nothing up.
    fake.sendUserMessage({ chatId: OWNER, fromId: OWNER, text: "task 0" });
    fake.sendUserMessage({ chatId: OWNER, fromId: OWNER, text: "task 1" });
    const filled = await t.telegram.pollOnce();
    assert.deepEqual(filled.map((h) => h.route?.outcomes[0].kind), ["engaged", "engaged"]);
    const sessionId = filled[0].route!.outcomes[0].sessionId!;
    // A reply goes out without the agent completing its messages: typing stops, the backlog stays full,
    // so a refused message that started typing again would show as a new `sendChatAction`.
    {
      using agent = await t.host.agent(sessionId);
      const [first] = agent.inbound.pendingMessages();
      agent.outbound.writeMessageOut({ id: "r1", kind: "chat", inReplyTo: first.id, content: "on it" });
    }
    await t.host.delivery.deliverSession(sessionId);
    assert.equal(fake.callsOf("sendChatAction").length, 1);

    // A burst at the full session (one with a document), then a message in another chat.
    const fileId = fake.addFile(new TextEncoder().encode("flood payload"), "documents/flood.txt");
    const burst = [
      fake.sendUserMessage({ chatId: OWNER, fromId: OWNER, text: "flood secret one" }),
      fake.sendUserMessage({
        chatId: OWNER,
        fromId: OWNER,
        caption: "flood secret two",
        document: { fileId, fileName: "flood-report.txt", mimeType: "text/plain", size: 13 },
      }),
      fake.sendUserMessage({ chatId: OWNER, fromId: OWNER, text: "flood secret three" }),
    ];
    const other = fake.sendUserMessage({ chatId: FRIEND, fromId: FRIEND, text: "hello from elsewhere" });
    const handled = await t.telegram.pollOnce();
    assert.deepEqual(handled.map((h) => [h.updateId, h.kind]), [
      ...burst.map((u) => [u.update_id, "refused"]),
      [other.update_id, "routed"],
    ]);
    assert.ok(handled.slice(0, 3).every((h) => h.sessionId === sessionId), "the full session is named");
    assert.match(handled[0].detail!, /^backlog-full: session .* has 2 unanswered inbound messages/);
    const friendSession = handled[3].route!.outcomes[0];
    assert.equal(friendSession.kind, "engaged");
    assert.notEqual(friendSession.sessionId, sessionId);
    assert.deepEqual(await waiting(t, friendSession.sessionId!), ["hello from elsewhere"]);

    // Consumed: the next poll confirms them, nothing is redelivered or routed again.
    assert.deepEqual(await t.telegram.pollOnce(), []);
    assert.deepEqual(fake.pendingUpdates(), []);
    assert.deepEqual(await waiting(t, sessionId), ["task 0", "task 1"], "nothing over the cap was queued");
    assert.equal(t.host.waker.wakes.filter((s) => s === sessionId).length, 2, "nor woken");

    // Told once, in reply to the first refused message; no typing for the refused ones; no file fetched.
    const [notice] = await fake.waitForCalls("sendMessage", 2, PROMPT_MS).then(() => notices(fake));
    assert.equal(notice.params.chat_id, String(OWNER));
    assert.equal(repliedTo(notice), burst[0].message!.message_id);
    assert.deepEqual(fake.callsOf("sendChatAction").map((c) => c.params.chat_id), [
      String(OWNER),
      String(FRIEND),
    ]);
    assert.equal(fake.callsOf("getFile").length, 0, "a refused message's file is not fetched");
    assert.ok(!namesUnder(t.sandboxRoot).some((n) => n.includes("flood")), "nor stored");

    // One info line per refused update, naming the session; the messages' text stays out of the log.
    const refusals = logs.filter((r) => String(r.rawMessage).includes("refused: session {sessionId}"));
    assert.deepEqual(refusals.map((r) => [r.level, r.properties.updateId, r.properties.sessionId]), [
      ...burst.map((u) => ["info", u.update_id, sessionId]),
    ]);
    const logged = JSON.stringify(logs.map((r) => [r.message, r.properties]));
    assert.ok(!logged.includes("flood secret"), logged);
    assert.ok(!logs.some((r) => String(r.rawMessage).includes("skipped after")), "no update was given up on");

    // The agent catches up: a new message is accepted, and nothing is said about it.
    await drain(t, sessionId);
    fake.sendUserMessage({ chatId: OWNER, fromId: OWNER, text: "after the drain" });
    const [accepted] = await t.telegram.pollOnce();
    assert.deepEqual([accepted.kind, accepted.route!.outcomes[0].sessionId], ["routed", sessionId]);
    assert.deepEqual(await waiting(t, sessionId), ["after the drain"]);

    // A second flood is a new episode: told once more, in reply to its first refused message.
    fake.sendUserMessage({ chatId: OWNER, fromId: OWNER, text: "fills it again" });
    const again = [
      fake.sendUserMessage({ chatId: OWNER, fromId: OWNER, text: "flood secret four" }),
      fake.sendUserMessage({ chatId: OWNER, fromId: OWNER, text: "flood secret five" }),
    ];
    assert.deepEqual((await t.telegram.pollOnce()).map((h) => h.kind), ["routed", "refused", "refused"]);

    await t.telegram.stop(); // waits for notices in flight: every one sent is counted below
    assert.deepEqual(notices(fake).map((c) => [c.params.chat_id, repliedTo(c)]), [
      [String(OWNER), burst[0].message!.message_id],
      [String(OWNER), again[0].message!.message_id],
    ]);
  } finally {
    await reset();
  }
});

Deno.test("telegram back-pressure: the polling loop neither stalls nor backs off on a flooded chat", async () => {
  using dir = tempDir();
  await using fake = FakeTelegram.start();
  await using t = await openTelegramHost(dir.path, fake, { poll: { timeoutSeconds: 30 } }, false, {
    backlogCap: 1,
  });
  wireChat(t.host, OWNER, { ownerId: OWNER });
  wireChat(t.host, FRIEND, { ownerId: FRIEND });
  await t.telegram.start();
  await fake.waitForCalls("getUpdates", 1, PROMPT_MS);
  fake.sendUserMessage({ chatId: OWNER, fromId: OWNER, text: "fills the backlog" });
  await fake.waitForCalls("sendChatAction", 1, PROMPT_MS);

  // Six refusals ahead of the other chat's message: retried with back-off, they held it for minutes.
  const flood = Array.from(
    { length: 6 },
    (_, i) => fake.sendUserMessage({ chatId: OWNER, fromId: OWNER, text: `flood ${i}` }),
  );
  const friend = fake.sendUserMessage({ chatId: FRIEND, fromId: FRIEND, text: "still there?" });
  const actions = await fake.waitForCalls("sendChatAction", 2, PROMPT_MS);
  assert.equal(actions[1].params.chat_id, String(FRIEND), "the other chat's message was routed promptly");
  // The poll after it confirms every update of the burst.
  const confirmed = (c: RecordedCall) => c.params.offset === friend.update_id + 1;
  while (!fake.callsOf("getUpdates").some(confirmed)) {
    await fake.waitForCalls("getUpdates", fake.callsOf("getUpdates").length + 1, PROMPT_MS);
  }
  await t.telegram.stop();

  // A failing update is polled again from the same offset after a back-off pause; a refused one never is.
  const offsets = fake.callsOf("getUpdates").map((c) => Number(c.params.offset ?? 0));
  assert.deepEqual(offsets, [...new Set(offsets)].sort((a, b) => a - b), `offsets polled: ${offsets}`);
  assert.deepEqual(fake.pendingUpdates(), []);
  assert.deepEqual(notices(fake).map((c) => [c.params.chat_id, repliedTo(c)]), [
    [String(OWNER), flood[0].message!.message_id],
  ]);
  assert.deepEqual(await waiting(t, sessionOf(t, OWNER)), ["fills the backlog"]);
});

/** The session of the private chat with `chatId`. */
function sessionOf(t: TelegramHost, chatId: number): SessionId {
  const chat = t.host.registry.getOrCreateMessagingGroup({
    channelType: "telegram",
    platformId: String(chatId),
  });
  const session = t.host.registry.listSessions().find((s) => s.messagingGroupId === chat.id);
  assert.ok(session, `a session for chat ${chatId}`);
  return session.id;
}

Deno.test("telegram back-pressure in webhook mode: a refused update is answered 200, told once, others flow", async () => {
  using dir = tempDir();
  await using fake = FakeTelegram.start();
  await using t = await openTelegramHost(
    dir.path,
    fake,
    {
      webhook: { url: "https://bot.example.org/telegram", secretToken: "hook-secret_1" },
    },
    false,
    { backlogCap: 1 },
  );
  wireChat(t.host, OWNER, { ownerId: OWNER });
  wireChat(t.host, FRIEND, { ownerId: FRIEND });
  await t.telegram.start();
  await fake.waitForCalls("setWebhook", 1, PROMPT_MS);
  const handler = t.telegram.webhookHandler();
  let nextId = 900;
  const post = async (chatId: number, text: string): Promise<{ status: number; message: Message }> => {
    const message = fake.userMessage({ chatId, fromId: chatId, text });
    const update = { update_id: nextId++, message };
    const response = await handler(
      new Request("http://127.0.0.1/telegram", {
        method: "POST",
        headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": "hook-secret_1" },
        body: JSON.stringify(update),
      }),
    );
    await response.body?.cancel();
    return { status: response.status, message };
  };

  assert.equal((await post(OWNER, "fills the backlog")).status, 200);
  const refused = [await post(OWNER, "flood a"), await post(OWNER, "flood b"), await post(OWNER, "flood c")];
  assert.deepEqual(
    refused.map((r) => r.status),
    [200, 200, 200],
    "answered 200, so Telegram does not resend",
  );
  assert.equal((await post(FRIEND, "meanwhile")).status, 200);
  const ownerSession = sessionOf(t, OWNER);
  assert.deepEqual(await waiting(t, ownerSession), ["fills the backlog"]);
  assert.deepEqual(await waiting(t, sessionOf(t, FRIEND)), ["meanwhile"]);
  assert.deepEqual(fake.callsOf("sendChatAction").map((c) => c.params.chat_id), [
    String(OWNER),
    String(FRIEND),
  ]);

  // Drained, the chat is heard again without a notice; a new flood is a new episode.
  await drain(t, ownerSession);
  assert.equal((await post(OWNER, "after the drain")).status, 200);
  assert.deepEqual(await waiting(t, ownerSession), ["after the drain"]);
  const second = await post(OWNER, "flood d");
  assert.equal(second.status, 200);

  await t.telegram.stop(); // waits for notices in flight
  assert.deepEqual(notices(fake).map((c) => [c.params.chat_id, repliedTo(c)]), [
    [String(OWNER), refused[0].message.message_id],
    [String(OWNER), second.message.message_id],
  ]);
});
