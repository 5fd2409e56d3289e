/**
 * Files both ways through the Telegram channel, and the bot token kept out
 * of errors and log lines.
 */
import assert from "node:assert/strict";
import { reset } from "@logtape/logtape";
import type { LogRecord } from "@logtape/logtape";
import { configureLogging, REDACTED } from "../../src/log/mod.ts";
import { TelegramAdapter, TelegramApiError } from "../../src/channels/telegram/mod.ts";
import { HostFixture } from "../../src/delivery/test_host.ts";
import { closedPortUrl } from "../../cli/test_helpers.ts";
import { tempDir } from "../support/mod.ts";
import { FakeTelegram } from "../support/fake_telegram.ts";
import { openTelegramHost, wireChat } from "./harness.ts";

const OWNER = 4242;
const STRANGER = 6666;

Deno.test("telegram: an inbound document is saved where the agent can read it, and named in its message", async () => {
  using dir = tempDir();
  await using fake = FakeTelegram.start();
  await using t = await openTelegramHost(dir.path, fake);
  wireChat(t.host, OWNER, { ownerId: OWNER });
  const bytes = new TextEncoder().encode("%PDF-1.7 quarterly numbers");
  const fileId = fake.addFile(bytes, "documents/file_7.pdf");
  const update = fake.sendUserMessage({
    chatId: OWNER,
    fromId: OWNER,
    caption: "see attached",
    document: {
      fileId,
      fileName: "../../etc/Q3 report.pdf",
      mimeType: "application/pdf",
      size: bytes.length,
    },
  });
  const [handled] = await t.telegram.pollOnce();
  const id = update.message!.message_id;
  using agent = await t.host.agent(handled.route!.outcomes[0].sessionId!);
  assert.deepEqual(agent.inbound.pendingMessages().map((m) => m.content), [
    `see attached\n[attachment: /workspace/inbox/${OWNER}/${id}-Q3_report.pdf (${bytes.length} bytes, application/pdf)]`,
  ]);
  assert.deepEqual(await Deno.readFile(`${dir.path}/inbox/${OWNER}/${id}-Q3_report.pdf`), bytes);
  assert.deepEqual(fake.callsOf("getFile").map((c) => c.params.file_id), [fileId]);
});

Deno.test("telegram: files from senders who reach no agent are not fetched", async () => {
  using dir = tempDir();
  await using fake = FakeTelegram.start();
  await using t = await openTelegramHost(dir.path, fake);
  wireChat(t.host, -1001, { policy: "strict" });
  const fileId = fake.addFile(new Uint8Array(64));
  fake.sendUserMessage({ chatId: -1001, fromId: STRANGER, document: { fileId, fileName: "x.bin" } });
  const [handled] = await t.telegram.pollOnce();
  assert.equal(handled.route!.outcomes[0].kind, "access-denied");
  assert.equal(fake.callsOf("getFile").length, 0);
  await assert.rejects(Deno.stat(`${dir.path}/inbox`), Deno.errors.NotFound);
});

Deno.test("telegram: a send_file reply goes out as a document, once", async () => {
  using dir = tempDir();
  await using fake = FakeTelegram.start();
  await using t = await openTelegramHost(dir.path, fake);
  wireChat(t.host, OWNER, { ownerId: OWNER });
  const asked = fake.sendUserMessage({ chatId: OWNER, fromId: OWNER, text: "send me the report" });
  const [handled] = await t.telegram.pollOnce();
  using agent = await t.host.agent(handled.route!.outcomes[0].sessionId!);
  const [m] = agent.inbound.pendingMessages();
  agent.outbound.writeMessageOut({
    id: "f1",
    kind: "chat",
    inReplyTo: m.id,
    content: "[file: reports/weekly.txt]\nweekly report\n\nline one\nline two",
  });
  await t.host.delivery.deliverAll();
  await t.host.delivery.deliverAll();
  const docs = fake.callsOf("sendDocument");
  assert.equal(docs.length, 1);
  const [doc] = docs;
  assert.equal(doc.params.chat_id, String(OWNER));
  assert.equal(doc.params.caption, "weekly report");
  const [file] = Object.values(doc.files);
  assert.equal(file.name, "weekly.txt");
  assert.equal(new TextDecoder().decode(file.bytes), "line one\nline two");
  assert.equal((doc.params.reply_parameters as { message_id: number }).message_id, asked.message!.message_id);
  assert.equal(fake.callsOf("sendMessage").length, 0);

  const sent = await t.telegram.sendFile(
    { channelType: "telegram", platformId: String(OWNER), threadId: null },
    { name: "../secret/notes.md", bytes: new TextEncoder().encode("# notes"), caption: "from the host" },
  );
  assert.equal(sent, String(fake.sentMessage(fake.callsOf("sendDocument")[1]).message_id));
  assert.equal(Object.values(fake.callsOf("sendDocument")[1].files)[0].name, "notes.md");
});

Deno.test("telegram: the token never reaches an error message or a log line", async () => {
  const seen: LogRecord[] = [];
  await configureLogging({ sink: (r) => void seen.push(r), level: "debug" });
  try {
    using dir = tempDir();
    await using host = await HostFixture.open(dir.path);
    const token = "987654:AAF-this_is-the-secret-part-123456";
    const telegram = new TelegramAdapter({
      token,
      apiRoot: closedPortUrl(),
      state: host.state,
      registry: host.registry,
      router: host.router,
    });
    const err = await telegram.pollOnce().then(() => undefined, (e) => e);
    assert.ok(err instanceof TelegramApiError);
    assert.ok(!err.message.includes(token) && !err.message.includes("secret-part"), err.message);
    assert.ok(err.message.includes(REDACTED), `the URL was in the cause and got scrubbed: ${err.message}`);

    // The polling loop logs its failures: scrubbed too.
    const logged = new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (seen.some((r) => String(r.rawMessage).includes("not reachable"))) {
          clearInterval(check);
          resolve();
        }
      }, 5);
    });
    await telegram.start();
    await logged;
    await telegram.stop();
    const text = JSON.stringify(seen.map((r) => ({ message: r.message, properties: r.properties })));
    assert.ok(!text.includes("secret-part"), text);
  } finally {
    await reset();
  }
});
