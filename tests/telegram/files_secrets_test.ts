/**
 * Files both ways through the Telegram channel (inbound ones into the
 * workspace of each session a message reaches), and the bot token kept out
 * of errors and log lines.
 */
import assert from "node:assert/strict";
import { type LogRecord, reset } from "@logtape/logtape";
import { configureLogging, REDACTED } from "../../src/log/mod.ts";
import { WorkspaceFiles } from "../../src/channels/mod.ts";
import { TelegramAdapter, TelegramApiError } from "../../src/channels/telegram/runtime.ts";
import { imageMountedAt, MIN_VOLUME_BYTES, volumesUnavailable } from "../../isolator/mod.ts";
import type { Router } from "../../src/router/mod.ts";
import type { Session } from "../../src/registry/mod.ts";
import { groupVolumeDirs, sessionDirs, workspaceStagingDir } from "../../src/sandbox/mod.ts";
import { HostFixture } from "../support/host.ts";
import { closedPortUrl } from "../support/served_plane.ts";
import { tempDir } from "../support/mod.ts";
import { FakeTelegram } from "../support/fake_telegram.ts";
import { openTelegramHost, wireChat } from "./harness.ts";

const OWNER = 4242;
const STRANGER = 6666;

Deno.test("telegram: an inbound document lands in the engaged session's workspace before the wake, and is named", async () => {
  using dir = tempDir();
  await using fake = FakeTelegram.start();
  await using t = await openTelegramHost(dir.path, fake);
  wireChat(t.host, OWNER, { ownerId: OWNER });
  const bytes = new TextEncoder().encode("%PDF-1.7 quarterly numbers");
  const fileId = fake.addFile(bytes, "documents/file_7.pdf");
  // What the session's workspace holds when its agent is woken.
  const atWake: (Uint8Array | undefined)[] = [];
  const wake = t.host.waker.wake.bind(t.host.waker);
  t.host.waker.wake = (sessionId) => {
    const { workspaceDir } = sessionDirs(t.sandboxRoot, sessionId, "g1");
    atWake.push(readOrUndefined(`${workspaceDir}/Q3_report.pdf`));
    return wake(sessionId);
  };
  fake.sendUserMessage({
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
  const sessionId = handled.route!.outcomes[0].sessionId!;
  using agent = await t.host.agent(sessionId);
  assert.deepEqual(agent.inbound.pendingMessages().map((m) => m.content), [
    `see attached\n[attachment: /workspace/Q3_report.pdf (${bytes.length} bytes, application/pdf; ` +
    "in the workspace as Q3_report.pdf)]",
  ]);
  assert.deepEqual(atWake, [bytes], "the file was in place when the agent was woken");
  const { workspaceDir } = sessionDirs(t.sandboxRoot, sessionId, "g1");
  assert.equal(Deno.statSync(`${workspaceDir}/Q3_report.pdf`).mode! & 0o777, 0o644, "readable by the agent");
  assert.deepEqual(fake.callsOf("getFile").map((c) => c.params.file_id), [fileId]);

  // The same name again: a new file beside it, the first one untouched.
  const again = new TextEncoder().encode("%PDF-1.7 revised");
  fake.sendUserMessage({
    chatId: OWNER,
    fromId: OWNER,
    document: { fileId: fake.addFile(again, "documents/file_8.pdf"), fileName: "Q3 report.pdf" },
  });
  await t.telegram.pollOnce();
  assert.match(agent.inbound.pendingMessages()[1].content, /^\[attachment: \/workspace\/Q3_report-1\.pdf \(/);
  assert.deepEqual(Deno.readFileSync(`${workspaceDir}/Q3_report-1.pdf`), again);
  assert.deepEqual(Deno.readFileSync(`${workspaceDir}/Q3_report.pdf`), bytes);
});

Deno.test("telegram: an agent's symlink in its workspace is never written through, its file never overwritten", async () => {
  using dir = tempDir();
  await using fake = FakeTelegram.start();
  await using t = await openTelegramHost(dir.path, fake);
  wireChat(t.host, OWNER, { ownerId: OWNER });
  // A first message opens the session; then the agent lays its traps in the workspace.
  fake.sendUserMessage({ chatId: OWNER, fromId: OWNER, text: "hi" });
  const sessionId = (await t.telegram.pollOnce())[0].route!.outcomes[0].sessionId!;
  const { workspaceDir } = sessionDirs(t.sandboxRoot, sessionId, "g1");
  Deno.mkdirSync(workspaceDir, { recursive: true });
  const outside = `${dir.path}/outside.txt`;
  Deno.writeTextFileSync(outside, "host file");
  Deno.symlinkSync(outside, `${workspaceDir}/notes.txt`);
  Deno.writeTextFileSync(`${workspaceDir}/notes-1.txt`, "the agent's own");
  const bytes = new TextEncoder().encode("from the user");
  fake.sendUserMessage({
    chatId: OWNER,
    fromId: OWNER,
    document: { fileId: fake.addFile(bytes), fileName: "notes.txt", size: bytes.length },
  });
  await t.telegram.pollOnce();
  using agent = await t.host.agent(sessionId);
  assert.match(agent.inbound.pendingMessages()[1].content, /in the workspace as notes-2\.txt\)\]$/);
  assert.deepEqual(Deno.readFileSync(`${workspaceDir}/notes-2.txt`), bytes);
  assert.equal(Deno.readTextFileSync(outside), "host file");
  assert.equal(Deno.readTextFileSync(`${workspaceDir}/notes-1.txt`), "the agent's own");
  assert.deepEqual(
    [...Deno.readDirSync(workspaceStagingDir(t.sandboxRoot, "g1"))],
    [],
    "nothing left staged",
  );
});

Deno.test("telegram: files from senders the policy drops are neither fetched nor written", async () => {
  using dir = tempDir();
  await using fake = FakeTelegram.start();
  await using t = await openTelegramHost(dir.path, fake);
  wireChat(t.host, -1001, { policy: "strict" });
  wireChat(t.host, -1002, { policy: "request_approval" });
  const fileId = fake.addFile(new Uint8Array(64));
  fake.sendUserMessage({ chatId: -1001, fromId: STRANGER, document: { fileId, fileName: "x.bin" } });
  fake.sendUserMessage({ chatId: -1002, fromId: STRANGER, document: { fileId, fileName: "y.bin" } });
  const handled = await t.telegram.pollOnce();
  assert.deepEqual(handled.map((h) => h.route!.outcomes[0].kind), ["access-denied", "approval-requested"]);
  assert.equal(fake.callsOf("getFile").length, 0);
  await assert.rejects(Deno.stat(t.sandboxRoot), Deno.errors.NotFound, "no workspace was even made");
});

Deno.test("telegram: an oversize file is refused with a clear line, declared or not, and never written", async () => {
  using dir = tempDir();
  await using fake = FakeTelegram.start();
  const max = 1024;
  await using t = await openTelegramHost(dir.path, fake, {
    files: new WorkspaceFiles({
      root: `${dir.path}/sandbox`,
      agentWorkspace: () => "/workspace",
      maxBytes: max,
    }),
  });
  wireChat(t.host, OWNER, { ownerId: OWNER });
  const big = new Uint8Array(max + 1);
  // Declared too big: not even asked for.
  fake.sendUserMessage({
    chatId: OWNER,
    fromId: OWNER,
    document: { fileId: fake.addFile(big), fileName: "declared.bin", size: big.length },
  });
  // Not declared: the download stops at the cap.
  fake.sendUserMessage({
    chatId: OWNER,
    fromId: OWNER,
    document: { fileId: fake.addFile(big), fileName: "quiet.bin" },
  });
  const handled = await t.telegram.pollOnce();
  using agent = await t.host.agent(handled[0].route!.outcomes[0].sessionId!);
  assert.deepEqual(agent.inbound.pendingMessages().map((m) => m.content), [
    "[attachment declared.bin not saved: it is 1025 bytes, over this host's limit of 1024 bytes a file]",
    "[attachment quiet.bin not saved: it is 1025 bytes, over this host's limit of 1024 bytes a file]",
  ]);
  assert.equal(fake.callsOf("getFile").length, 1, "the declared one was never asked for");
  await assert.rejects(Deno.stat(t.sandboxRoot), Deno.errors.NotFound, "nothing was written");
});

Deno.test("telegram: a message in two agents' chats puts its file in both workspaces, fetched once", async () => {
  using dir = tempDir();
  await using fake = FakeTelegram.start();
  await using t = await openTelegramHost(dir.path, fake);
  const { chat } = wireChat(t.host, OWNER, { ownerId: OWNER });
  t.host.registry.putAgentGroup({ id: "g2", name: "g2" });
  t.host.registry.putWiring({
    messagingGroupId: chat.id,
    agentGroupId: "g2",
    engageMode: "pattern",
    engagePattern: ".",
  });
  const bytes = new TextEncoder().encode("shared");
  fake.sendUserMessage({
    chatId: OWNER,
    fromId: OWNER,
    document: { fileId: fake.addFile(bytes), fileName: "s.txt" },
  });
  const [handled] = await t.telegram.pollOnce();
  const outcomes = handled.route!.outcomes;
  assert.deepEqual(outcomes.map((o) => [o.agentGroupId, o.kind]).sort(), [["g1", "engaged"], [
    "g2",
    "engaged",
  ]]);
  for (const o of outcomes) {
    const { workspaceDir } = sessionDirs(t.sandboxRoot, o.sessionId!, o.agentGroupId);
    assert.deepEqual(Deno.readFileSync(`${workspaceDir}/s.txt`), bytes, o.agentGroupId);
  }
  assert.equal(fake.callsOf("getFile").length, 1);
});

Deno.test("telegram: when routing fails after a file was placed, the file is taken back", async () => {
  using dir = tempDir();
  await using fake = FakeTelegram.start();
  // The session the wiring below resolves to, known once the host is open.
  const routed: { session?: Session } = {};
  await using t = await openTelegramHost(dir.path, fake, {
    router: {
      route: async (event) => {
        // The queue write fails once the file is placed (as a full disk would fail it).
        await event.contentFor?.({
          sessionId: routed.session!.id,
          agentGroupId: routed.session!.agentGroupId,
          engaged: true,
        });
        throw new Error("the queue write failed");
      },
    } as Pick<Router, "route">,
  });
  const { chat } = wireChat(t.host, OWNER, { ownerId: OWNER });
  const session = routed.session = t.host.registry.resolveSession("g1", chat.id, null, "shared");
  fake.sendUserMessage({
    chatId: OWNER,
    fromId: OWNER,
    document: { fileId: fake.addFile(new Uint8Array(8)), fileName: "t.bin" },
  });
  await assert.rejects(t.telegram.pollOnce(), /queue write failed/);
  const { workspaceDir } = sessionDirs(t.sandboxRoot, session.id, "g1");
  assert.deepEqual([...Deno.readDirSync(workspaceDir)], []);
});

Deno.test({
  name: "telegram: a full workspace volume is a clear line to the agent, and nothing is left behind",
  ignore: volumesUnavailable() !== undefined,
  fn: async () => {
    using dir = tempDir();
    await using fake = FakeTelegram.start();
    const sizes = {
      workspaceBytes: MIN_VOLUME_BYTES,
      memoryBytes: MIN_VOLUME_BYTES,
      outboxBytes: MIN_VOLUME_BYTES,
    };
    await using t = await openTelegramHost(dir.path, fake, {}, sizes);
    wireChat(t.host, OWNER, { ownerId: OWNER });
    const big = new Uint8Array(MIN_VOLUME_BYTES + 1024);
    fake.sendUserMessage({
      chatId: OWNER,
      fromId: OWNER,
      document: { fileId: fake.addFile(big), fileName: "huge.bin" },
    });
    const small = new TextEncoder().encode("still fits");
    fake.sendUserMessage({
      chatId: OWNER,
      fromId: OWNER,
      document: { fileId: fake.addFile(small), fileName: "small.txt" },
    });
    const handled = await t.telegram.pollOnce();
    const sessionId = handled[0].route!.outcomes[0].sessionId!;
    using agent = await t.host.agent(sessionId);
    const [full, fits] = agent.inbound.pendingMessages().map((m) => m.content);
    assert.equal(
      full,
      "[attachment huge.bin not saved: the agent's workspace is full (its disk quota is used up)]",
    );
    assert.match(fits, /^\[attachment: \/workspace\/small\.txt /);
    // On the group's mounted volume, not in the directory underneath it.
    const paths = groupVolumeDirs(t.sandboxRoot, "g1");
    assert.ok(imageMountedAt(paths.workspaceImage, Deno.realPathSync(paths.workspaceMount)));
    const { workspaceDir } = sessionDirs(t.sandboxRoot, sessionId, "g1");
    assert.deepEqual([...Deno.readDirSync(workspaceDir)].map((e) => e.name), ["small.txt"]);
    assert.deepEqual([...Deno.readDirSync(workspaceStagingDir(t.sandboxRoot, "g1"))], []);
  },
});

function readOrUndefined(path: string): Uint8Array | undefined {
  try {
    return Deno.readFileSync(path);
  } catch {
    return undefined;
  }
}

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
