/**
 * Telegram end to end: a configured channel is started by the control plane
 * itself, a private message from the fake Bot API server reaches the `demo`
 * agent in its sandbox (process backend), and the agent's reply is sent back
 * to the same chat, threaded onto the message. Files both ways: a document
 * lands in the session's workspace, where the agent's `read_file` reads it
 * inside the sandbox (process backend, and runsc where gVisor runs), and
 * the agent's `send_file` comes back as a Telegram document; a dropped
 * sender's file is never fetched nor written, an oversize one is refused.
 */
import assert from "node:assert/strict";
import { sessionDirs } from "../../src/sandbox/mod.ts";
import { startApiServer, TELEGRAM_WEBHOOK_PATH } from "../../src/api/mod.ts";
import { ChannelConfigStore } from "../../src/channels/mod.ts";
import { ControlPlane, DEMO_AGENT_ID } from "../../src/control_plane/mod.ts";
import { FakeTelegram } from "../support/fake_telegram.ts";
import { LIBRARY, tempDir } from "../support/mod.ts";
import { runscWorks } from "../support/runsc.ts";

const TOKEN_ENV = "IRONCLAW_E2E_TELEGRAM_TOKEN";

/** Wires `chat` to the demo agent, engaging on every message. */
function wireToDemo(setup: ControlPlane, chat: { id: string }): void {
  setup.registry.putWiring({
    messagingGroupId: chat.id,
    agentGroupId: DEMO_AGENT_ID,
    engageMode: "pattern",
    engagePattern: ".",
  });
}

/**
 * What an operator does once: `ironclaw channel add telegram`, and wire chat 4242 to the demo agent;
 * `more` adds to that setup (e.g. another chat) before the plane closes.
 */
async function configure(
  stateDir: string,
  apiRoot: string,
  webhookUrl: string | null,
  more?: (setup: ControlPlane) => void,
): Promise<void> {
  const setup = await ControlPlane.open({ stateDir, dev: true, library: LIBRARY, background: false });
  try {
    new ChannelConfigStore(setup.state).put({ type: "telegram", tokenEnv: TOKEN_ENV, apiRoot, webhookUrl });
    setup.registry.addMember("telegram:4242", DEMO_AGENT_ID);
    wireToDemo(
      setup,
      setup.registry.getOrCreateMessagingGroup({ channelType: "telegram", platformId: "4242" }),
    );
    more?.(setup);
  } finally {
    await setup.close();
  }
}

Deno.test("telegram: a private message reaches the sandboxed agent and the reply comes back to that chat", async () => {
  using dir = tempDir("ironclaw-tg-e2e-");
  await using telegram = FakeTelegram.start();
  Deno.env.set(TOKEN_ENV, telegram.token);
  try {
    await configure(dir.path, telegram.apiRoot, null);

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

/** How long one reply may take (a sandbox's first launch included). */
const REPLY_MS = 120_000;

/** Every file name under `dir`, recursively (a missing directory has none). */
function allNames(dir: string): string[] {
  const names: string[] = [];
  try {
    for (const e of Deno.readDirSync(dir)) {
      names.push(e.name);
      if (e.isDirectory) names.push(...allNames(`${dir}/${e.name}`));
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return names;
}

async function filesBothWays(isolator: "process" | "runsc") {
  using dir = tempDir("ironclaw-tg-files-");
  await using telegram = FakeTelegram.start();
  Deno.env.set(TOKEN_ENV, telegram.token);
  try {
    // A group wired to the same agent where strangers are dropped (`strict`).
    await configure(dir.path, telegram.apiRoot, null, (setup) =>
      wireToDemo(
        setup,
        setup.registry.getOrCreateMessagingGroup({
          channelType: "telegram",
          platformId: "-1001",
          isGroup: true,
          unknownSenderPolicy: "strict",
        }),
      ));

    const plane = await ControlPlane.open({
      stateDir: dir.path,
      dev: true,
      library: LIBRARY,
      isolator,
      agentPollMs: 200,
    });
    const replies = async (n: number) =>
      (await telegram.waitForCalls("sendMessage", n, REPLY_MS)).map((c) => c.params.text);
    try {
      // A stranger's file in the group: dropped by policy, so never fetched and never written.
      const strangerFile = telegram.addFile(
        new TextEncoder().encode("not for you"),
        "documents/stranger.txt",
      );
      telegram.sendUserMessage({
        chatId: -1001,
        fromId: 6666,
        caption: "take this",
        document: { fileId: strangerFile, fileName: "stranger.txt", mimeType: "text/plain" },
      });

      // The owner's document: the agent reads it inside its sandbox and says what it holds.
      const secret = "the password is tangerine";
      telegram.sendUserMessage({
        chatId: 4242,
        fromId: 4242,
        caption: 'tool:read_file {"path":"notes.txt"}',
        document: {
          fileId: telegram.addFile(new TextEncoder().encode(secret), "documents/file_1.txt"),
          fileName: "notes.txt",
          mimeType: "text/plain",
        },
      });
      assert.deepEqual(await replies(1), [`mock-agent tool result: ${secret}`]);
      const owner = plane.registry.getOrCreateMessagingGroup({ channelType: "telegram", platformId: "4242" });
      const session = plane.registry.listSessions().find((s) => s.messagingGroupId === owner.id)!;
      const { workspaceDir } = sessionDirs(`${dir.path}/sandbox`, session.id, DEMO_AGENT_ID);
      assert.equal(await Deno.readTextFile(`${workspaceDir}/notes.txt`), secret);

      // The same name again: a second file beside the first, named as the agent sees it.
      telegram.sendUserMessage({
        chatId: 4242,
        fromId: 4242,
        caption: "again",
        document: {
          fileId: telegram.addFile(new TextEncoder().encode("v2"), "documents/file_2.txt"),
          fileName: "notes.txt",
          mimeType: "text/plain",
        },
      });
      const seen = isolator === "process" ? workspaceDir : "/workspace";
      assert.equal(
        (await replies(2))[1],
        `mock-agent received: again\n[attachment: ${seen}/notes-1.txt (2 bytes, text/plain; in the workspace as notes-1.txt)]`,
      );

      // Too big for this host: refused with a clear line, never asked for.
      const bigFile = telegram.addFile(new TextEncoder().encode("pretend"), "documents/big.iso");
      telegram.sendUserMessage({
        chatId: 4242,
        fromId: 4242,
        caption: "a big one",
        document: { fileId: bigFile, fileName: "big.iso", size: 21 * 1024 * 1024 },
      });
      assert.equal(
        (await replies(3))[2],
        "mock-agent received: a big one\n[attachment big.iso not saved: it is 21.0 MiB, over this host's limit of 20.0 MiB a file]",
      );

      // And back: the agent's send_file arrives in the chat as a document.
      telegram.sendUserMessage({
        chatId: 4242,
        fromId: 4242,
        text: 'tool:send_file {"path":"notes.txt","caption":"here it is"}',
      });
      const [doc] = await telegram.waitForCalls("sendDocument", 1, REPLY_MS);
      assert.equal(String(doc.params.chat_id), "4242");
      assert.equal(doc.params.caption, "here it is");
      const [sent] = Object.values(doc.files);
      assert.equal(sent.name, "notes.txt");
      assert.equal(new TextDecoder().decode(sent.bytes), secret);
      assert.match(
        String((await replies(4))[3]),
        /^mock-agent tool result: sent \d+ bytes to this conversation$/,
      );

      const fetched = telegram.callsOf("getFile").map((c) => c.params.file_id);
      assert.ok(!fetched.includes(strangerFile), "the stranger's file was never fetched");
      assert.ok(!fetched.includes(bigFile), "the oversize file was never fetched");
      const names = allNames(`${dir.path}/sandbox`);
      assert.ok(!names.some((n) => n.startsWith("stranger") || n.startsWith("big")), names.join(", "));
    } finally {
      await plane.close();
    }
  } finally {
    Deno.env.delete(TOKEN_ENV);
  }
}

Deno.test("telegram files (process backend): a document is read by the agent in its workspace; send_file comes back", () =>
  filesBothWays("process"));

Deno.test({
  name:
    "telegram files (runsc backend): a document is read by the gVisor-sandboxed agent; send_file comes back",
  ignore: !(await runscWorks()),
  fn: () => filesBothWays("runsc"),
});
