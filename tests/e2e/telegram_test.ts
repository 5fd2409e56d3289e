/**
 * Telegram end to end: a configured channel is started by the control plane
 * itself, a private message from the fake Bot API server reaches the `demo`
 * agent in its sandbox (process backend), and the agent's reply is sent back
 * to the same chat, threaded onto the message.
 */
import assert from "node:assert/strict";
import { startApiServer } from "../../src/api/mod.ts";
import { TELEGRAM_WEBHOOK_PATH } from "../../src/api/routes/telegram_webhook.ts";
import { ChannelConfigStore } from "../../src/channels/telegram/channel_config.ts";
import { ControlPlane, DEMO_AGENT_ID } from "../../src/control_plane/mod.ts";
import { FakeTelegram } from "../support/fake_telegram.ts";
import { LIBRARY, tempDir } from "../support/mod.ts";

const TOKEN_ENV = "IRONCLAW_E2E_TELEGRAM_TOKEN";

/** What an operator does once: `ironclaw channel add telegram`, and wire chat 4242 to the demo agent. */
async function configure(stateDir: string, apiRoot: string, webhookUrl: string | null): Promise<void> {
  const setup = await ControlPlane.open({ stateDir, dev: true, library: LIBRARY, background: false });
  try {
    new ChannelConfigStore(setup.state).put({ type: "telegram", tokenEnv: TOKEN_ENV, apiRoot, webhookUrl });
    setup.registry.addMember("telegram:4242", DEMO_AGENT_ID);
    const chat = setup.registry.getOrCreateMessagingGroup({ channelType: "telegram", platformId: "4242" });
    setup.registry.putWiring({
      messagingGroupId: chat.id,
      agentGroupId: DEMO_AGENT_ID,
      engageMode: "pattern",
      engagePattern: ".",
    });
  } finally {
    await setup.close();
  }
}

Deno.test("telegram: a private message reaches the sandboxed agent and the reply comes back to that chat", async () => {
  using dir = tempDir("ironclaw-tg-e2e-");
  await using telegram = FakeTelegram.start();
  Deno.env.set(TOKEN_ENV, telegram.token);
  try {
    // What an operator does once: `ironclaw channel add telegram`, and wire the chat to the agent.
    const setup = await ControlPlane.open({
      stateDir: dir.path,
      dev: true,
      library: LIBRARY,
      background: false,
    });
    new ChannelConfigStore(setup.state).put({
      type: "telegram",
      tokenEnv: TOKEN_ENV,
      apiRoot: telegram.apiRoot,
    });
    setup.registry.addMember("telegram:4242", DEMO_AGENT_ID);
    const chat = setup.registry.getOrCreateMessagingGroup({ channelType: "telegram", platformId: "4242" });
    setup.registry.putWiring({
      messagingGroupId: chat.id,
      agentGroupId: DEMO_AGENT_ID,
      engageMode: "pattern",
      engagePattern: ".",
    });
    await setup.close();

    const plane = await ControlPlane.open({
      stateDir: dir.path,
      dev: true,
      library: LIBRARY,
      isolator: "process",
      agentPollMs: 200,
    });
    try {
      const update = telegram.sendUserMessage({ chatId: 4242, fromId: 4242, text: "hello from telegram" });
      const [reply] = await telegram.waitForCalls("sendMessage");
      assert.equal(String(reply.params.chat_id), "4242");
      assert.equal(reply.params.text, "mock-agent received: hello from telegram");
      const threaded = reply.params.reply_parameters as { message_id?: number } | undefined;
      assert.equal(threaded?.message_id ?? reply.params.reply_to_message_id, update.message!.message_id);
      assert.ok(telegram.callsOf("sendChatAction").length >= 1, "typing was shown while the agent worked");
    } finally {
      await plane.close();
    }
  } finally {
    Deno.env.delete(TOKEN_ENV);
  }
});

Deno.test("telegram webhook mode: updates posted to the API reach the agent; a wrong secret is refused", async () => {
  using dir = tempDir("ironclaw-tg-webhook-");
  await using telegram = FakeTelegram.start();
  Deno.env.set(TOKEN_ENV, telegram.token);
  try {
    await configure(dir.path, telegram.apiRoot, `https://ironclaw.example${TELEGRAM_WEBHOOK_PATH}`);
    const plane = await ControlPlane.open({
      stateDir: dir.path,
      dev: true,
      library: LIBRARY,
      isolator: "process",
      agentPollMs: 200,
    });
    const server = startApiServer(plane, {
      token: "webhook-test-token-0123456789",
      hostname: "127.0.0.1",
      port: 0,
    });
    try {
      const [registered] = await telegram.waitForCalls("setWebhook");
      const secret = String(registered.params.secret_token);
      assert.ok(secret.length >= 16, "the channel registers a secret with its webhook");
      const post = (update: unknown, headerSecret: string) =>
        fetch(`${server.url.replace(/\/$/, "")}${TELEGRAM_WEBHOOK_PATH}`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": headerSecret },
          body: JSON.stringify(update),
        });
      const message = telegram.userMessage({ chatId: 4242, fromId: 4242, text: "via the webhook" });
      const forged = await post({ update_id: 1, message }, "not-the-secret");
      await forged.body?.cancel();
      assert.equal(forged.status, 401);
      const accepted = await post({ update_id: 2, message }, secret);
      await accepted.body?.cancel();
      assert.equal(accepted.status, 200);
      const [reply] = await telegram.waitForCalls("sendMessage");
      assert.equal(String(reply.params.chat_id), "4242");
      assert.equal(reply.params.text, "mock-agent received: via the webhook");
      assert.equal(telegram.callsOf("sendMessage").length, 1, "the forged update was never routed");
    } finally {
      await server.shutdown();
      await plane.close();
    }
  } finally {
    Deno.env.delete(TOKEN_ENV);
  }
});
