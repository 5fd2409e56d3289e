/**
 * The Telegram channel across time: a restart in the middle of a
 * conversation, the polling loop, webhook mode, and importing it under the
 * host's permission flags.
 */
import assert from "node:assert/strict";
import { HOST_PERMISSION_FLAGS } from "../../contract/permissions.ts";
import type { SessionId } from "../../contract/ids.ts";
import { tempDir } from "../support/mod.ts";
import { FakeTelegram } from "../support/fake_telegram.ts";
import { openTelegramHost, wireChat } from "./harness.ts";

const OWNER = 4242;

Deno.test("telegram: a restart mid-conversation neither loses nor repeats a message or a reply", async () => {
  using dir = tempDir();
  await using fake = FakeTelegram.start();
  let sessionId: SessionId;
  let second: number;
  {
    await using t = await openTelegramHost(dir.path, fake);
    wireChat(t.host, OWNER, { ownerId: OWNER });
    fake.sendUserMessage({ chatId: OWNER, fromId: OWNER, text: "one" });
    const [h1] = await t.telegram.pollOnce();
    sessionId = h1.route!.outcomes[0].sessionId!;
    using agent = await t.host.agent(sessionId);
    const [m1] = agent.inbound.pendingMessages();
    agent.outbound.writeMessageOut({ id: "r1", kind: "chat", inReplyTo: m1.id, content: "reply one" });
    await t.host.delivery.deliverAll();
    second = fake.sendUserMessage({ chatId: OWNER, fromId: OWNER, text: "two" }).message!.message_id;
    const [h2] = await t.telegram.pollOnce();
    assert.equal(h2.route!.outcomes[0].kind, "engaged");
    // The host goes down here, before the agent answers "two".
  }
  assert.equal(fake.pendingUpdates().length, 1, "Telegram still holds the unconfirmed second update");

  await using t = await openTelegramHost(dir.path, fake);
  assert.deepEqual(
    await t.telegram.pollOnce(),
    [],
    "the durable offset confirms it rather than routing it again",
  );
  assert.equal(fake.pendingUpdates().length, 0);
  using agent = await t.host.agent(sessionId);
  const pending = agent.inbound.pendingMessages();
  assert.deepEqual(pending.filter((m) => m.kind === "chat").map((m) => m.content), ["one", "two"]);
  agent.outbound.writeMessageOut({ id: "r2", kind: "chat", inReplyTo: pending[1].id, content: "reply two" });
  await t.host.delivery.deliverAll();
  await t.host.delivery.deliverAll();
  const sends = fake.callsOf("sendMessage");
  assert.deepEqual(sends.map((c) => c.params.text), ["reply one", "reply two"]);
  assert.deepEqual(
    (sends[1].params.reply_parameters as { message_id: number }).message_id,
    second,
    "the reply threads onto the message it answers, across the restart",
  );
});

Deno.test("telegram: the polling loop receives a message, and stop cuts the long poll short", async () => {
  using dir = tempDir();
  await using fake = FakeTelegram.start();
  await using t = await openTelegramHost(dir.path, fake, { poll: { timeoutSeconds: 30 } });
  wireChat(t.host, OWNER, { ownerId: OWNER });
  await t.telegram.start();
  await fake.waitForCalls("getUpdates", 1);
  const update = fake.sendUserMessage({ chatId: OWNER, fromId: OWNER, text: "are you there?" });
  await fake.waitForCalls("sendChatAction", 1);
  await fake.waitForCalls("getUpdates", 2);
  await t.telegram.stop();
  const methods = fake.calls.map((c) => c.method);
  assert.deepEqual(methods.slice(0, 3), ["getMe", "deleteWebhook", "getUpdates"]);
  assert.equal(
    fake.callsOf("getUpdates")[1].params.offset,
    update.update_id + 1,
    "the next poll confirms it",
  );
  const [session] = t.host.registry.listSessions();
  using agent = await t.host.agent(session.id);
  assert.deepEqual(agent.inbound.pendingMessages().map((m) => m.content), ["are you there?"]);
  assert.equal(t.telegram.identity?.username, fake.bot.username);
});

Deno.test("telegram: webhook mode registers the hook and handles posted updates once, secret checked", async () => {
  using dir = tempDir();
  await using fake = FakeTelegram.start();
  await using t = await openTelegramHost(dir.path, fake, {
    webhook: { url: "https://bot.example.org/telegram", secretToken: "hook-secret_1" },
  });
  wireChat(t.host, OWNER, { ownerId: OWNER });
  await t.telegram.start();
  const [hook] = await fake.waitForCalls("setWebhook");
  assert.deepEqual(hook.params, {
    url: "https://bot.example.org/telegram",
    secret_token: "hook-secret_1",
    allowed_updates: ["message", "callback_query"],
    max_connections: 1,
  });
  assert.equal(fake.callsOf("getUpdates").length, 0, "no polling in webhook mode");

  const handler = t.telegram.webhookHandler();
  const update = {
    update_id: 900,
    message: fake.userMessage({ chatId: OWNER, fromId: OWNER, text: "via hook" }),
  };
  const post = (secret: string) =>
    handler(
      new Request("http://127.0.0.1/telegram", {
        method: "POST",
        headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": secret },
        body: JSON.stringify(update),
      }),
    );
  const refused = await post("wrong");
  await refused.body?.cancel();
  assert.equal(refused.status, 401);
  assert.equal(t.host.registry.listSessions().length, 0);
  for (const _ of [1, 2]) {
    const accepted = await post("hook-secret_1");
    await accepted.body?.cancel();
    assert.equal(accepted.status, 200);
  }
  const [session] = t.host.registry.listSessions();
  using agent = await t.host.agent(session.id);
  assert.deepEqual(
    agent.inbound.pendingMessages().map((m) => m.content),
    ["via hook"],
    "a resent update is not routed twice",
  );
});

Deno.test("telegram: the channel imports and builds under the host's permission flags, quietly", async () => {
  const probe = new URL("./testdata/import_probe.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...HOST_PERMISSION_FLAGS, probe],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  assert.equal(new TextDecoder().decode(out.stdout).trim(), "ok telegram");
  assert.doesNotMatch(stderr, /DeprecationWarning/);
});
