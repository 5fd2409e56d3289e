/**
 * The Slack channel on the host path: the official Slack libraries talking
 * the real wire protocols (Web API over HTTP, Socket Mode over a WebSocket)
 * to a local fake Slack, the router, session queues, delivery and the
 * question desk, with the agent played through the sandbox-side queue API.
 */
import assert from "node:assert/strict";
import { formatAskUserRequest } from "../../contract/actions.ts";
import type { SessionId } from "../../contract/ids.ts";
import { WorkspaceFiles } from "../../src/channels/mod.ts";
import { SlackAdapter, type SlackAdapterDeps } from "../../src/channels/slack/runtime.ts";
import { slackSignature } from "../../src/channels/slack/mod.ts";
import { GroupVolumes } from "../../src/sandbox/mod.ts";
import { HostFixture } from "../support/host.ts";
import { tempDir } from "../support/mod.ts";
import { FakeSlack } from "../support/fake_slack.ts";

const OWNER = "UOWNER01";
const STRANGER = "USTRANGE";
const DM = "D0000001";
const CHANNEL = "C0000001";

/** The host with a Slack adapter talking to `fake`, started (Socket Mode), and the waits it asked for. */
async function openSlackHost(dir: string, fake: FakeSlack, extra: Partial<SlackAdapterDeps> = {}) {
  const host = await HostFixture.open(dir);
  // The groups' workspaces as the sandbox manager lays them out (plain directories here).
  const volumes = new GroupVolumes(`${dir}/sandbox`, false, { mode: 0o711 });
  const sleeps: number[] = [];
  const slack = new SlackAdapter({
    botToken: fake.botToken,
    apiRoot: fake.apiRoot,
    receive: { mode: "socket", appToken: fake.appToken },
    state: host.state,
    registry: host.registry,
    router: host.router,
    desk: host.desk,
    files: new WorkspaceFiles({ root: `${dir}/sandbox`, agentWorkspace: () => "/workspace" }),
    questionPollMs: 3_600_000,
    reconnectDelayMs: 200,
    retry: {
      sleep: (ms) => {
        sleeps.push(ms);
        return Promise.resolve();
      },
    },
    ...extra,
  });
  host.adapters.add(slack);
  return {
    host,
    slack,
    sleeps,
    async [Symbol.asyncDispose]() {
      await slack.stop();
      await volumes.close();
      await host[Symbol.asyncDispose]();
    },
  };
}

type SlackHost = Awaited<ReturnType<typeof openSlackHost>>;

/** Agent `g1`, owner `slack:OWNER`, and conversation `platformId` wired to it. */
function wire(
  t: SlackHost,
  platformId: string,
  options: { engageMode?: "pattern" | "mention"; policy?: "strict" | "public" } = {},
) {
  const r = t.host.registry;
  if (!r.hasAgentGroup("g1")) r.putAgentGroup({ id: "g1", name: "g1" });
  r.grantRole({ userId: `slack:${OWNER}`, role: "owner" });
  const chat = r.getOrCreateMessagingGroup({
    channelType: "slack",
    platformId,
    isGroup: !platformId.startsWith("D"),
    unknownSenderPolicy: options.policy,
  });
  const mode = options.engageMode ?? "pattern";
  r.putWiring({
    messagingGroupId: chat.id,
    agentGroupId: "g1",
    engageMode: mode,
    engagePattern: mode === "pattern" ? "." : "",
  });
}

/** The session of the latest inbound message of `platformId`. */
function sessionOf(t: SlackHost, platformId: string): SessionId {
  const chat = t.host.registry.getOrCreateMessagingGroup({ channelType: "slack", platformId });
  const session = t.host.registry.listSessions().find((s) => s.messagingGroupId === chat.id);
  assert.ok(session, `a session for ${platformId}`);
  return session.id;
}

Deno.test("slack: a DM over Socket Mode reaches the session once (acked, redelivery ignored); the reply comes back", async () => {
  using dir = tempDir();
  await using fake = FakeSlack.start();
  await using t = await openSlackHost(dir.path, fake);
  wire(t, DM);
  await t.slack.start();
  await fake.waitForConnections(1);

  const { event, envelopeId } = fake.sendUserMessage({ channel: DM, user: OWNER, text: "hello agent" });
  await fake.waitForAck(envelopeId);
  const sessionId = sessionOf(t, DM);
  using agent = await t.host.agent(sessionId);
  const [m] = agent.inbound.pendingMessages();
  assert.deepEqual([m.channelType, m.platformId, m.content], ["slack", DM, "hello agent"]);
  const [mark] = await fake.waitForCalls("reactions.add");
  assert.deepEqual([mark.params.channel, mark.params.timestamp, mark.params.name], [DM, event.ts, "eyes"]);

  // Slack delivers the same event again (its ack was lost): acked, not routed twice.
  const again = fake.sendEvent(event);
  await fake.waitForAck(again);
  assert.equal(agent.inbound.pendingMessages().length, 1);

  agent.outbound.writeMessageOut({ id: "r1", kind: "chat", inReplyTo: m.id, content: "hi human" });
  const [pass] = await t.host.delivery.deliverAll();
  assert.deepEqual(pass.handled.map((h) => h.outcome), ["delivered"]);
  const [sent] = fake.callsOf("chat.postMessage");
  assert.deepEqual([sent.params.channel, sent.params.text, sent.params.thread_ts], [
    DM,
    "hi human",
    undefined,
  ]);
  assert.equal(fake.callsOf("reactions.remove").length, 1, "the working mark comes off with the reply");
  await t.host.delivery.deliverAll();
  assert.equal(fake.callsOf("chat.postMessage").length, 1, "a delivered reply is not sent again");
});

Deno.test("slack: in a channel only an @mention engages, the reply goes in its thread, a stranger under strict is dropped", async () => {
  using dir = tempDir();
  await using fake = FakeSlack.start();
  await using t = await openSlackHost(dir.path, fake);
  wire(t, CHANNEL, { engageMode: "mention", policy: "strict" });
  await t.slack.start();
  await fake.waitForConnections(1);

  const quiet = fake.sendUserMessage({ channel: CHANNEL, user: OWNER, text: "just chatting" });
  const loud = fake.sendUserMessage({
    channel: CHANNEL,
    user: OWNER,
    text: `<@${fake.botUserId}> what time is it?`,
  });
  const stranger = fake.sendUserMessage({
    channel: CHANNEL,
    user: STRANGER,
    text: `<@${fake.botUserId}> let me in`,
    files: [{ name: "x.txt", bytes: new TextEncoder().encode("never fetched") }],
  });
  for (const e of [quiet, loud, stranger]) await fake.waitForAck(e.envelopeId);
  const sessionId = sessionOf(t, CHANNEL);
  using agent = await t.host.agent(sessionId);
  assert.deepEqual(agent.inbound.pendingMessages().map((m) => m.content), [
    `<@${fake.botUserId}> what time is it?`,
  ]);
  assert.equal(t.host.waker.wakes.length, 1, "only the mention woke the agent");
  assert.equal(t.host.registry.getSession(sessionId).threadId, null);

  const [engaged] = agent.inbound.pendingMessages();
  agent.outbound.writeMessageOut({ id: "r1", kind: "chat", inReplyTo: engaged.id, content: "noon" });
  await t.host.delivery.deliverAll();
  const [sent] = fake.callsOf("chat.postMessage");
  assert.deepEqual(
    [sent.params.channel, sent.params.thread_ts],
    [CHANNEL, loud.event.ts],
    "replied in thread",
  );
  assert.deepEqual(fake.downloads, [], "the stranger's file was never fetched");
});

Deno.test("slack: a question becomes Block Kit buttons; a press (acked) answers it; a stranger's press is refused", async () => {
  using dir = tempDir();
  await using fake = FakeSlack.start();
  await using t = await openSlackHost(dir.path, fake);
  wire(t, DM);
  await t.slack.start();
  await fake.waitForConnections(1);
  await fake.waitForAck(fake.sendUserMessage({ channel: DM, user: OWNER, text: "start" }).envelopeId);
  const sessionId = sessionOf(t, DM);
  using agent = await t.host.agent(sessionId);

  agent.outbound.writeMessageOut({
    id: "ask1",
    kind: "system",
    content: formatAskUserRequest({ question: "Deploy now?", options: ["yes", "not yet"] }),
  });
  await t.host.delivery.deliverAll();
  assert.equal(await t.slack.postQuestions(), 1);
  assert.equal(await t.slack.postQuestions(), 0, "a question is posted once");
  const [question] = t.host.desk.pending();
  const [post] = fake.callsOf("chat.postMessage");
  const blocks = post.params.blocks as {
    type: string;
    elements?: { action_id: string; text: { text: string } }[];
  }[];
  const buttons = blocks.find((b) => b.type === "actions")!.elements!;
  assert.deepEqual(buttons.map((b) => b.text.text), ["yes", "not yet"]);
  const ts = (post.result as { ts: string }).ts;

  const refused = fake.pressButton({ channel: DM, ts, user: STRANGER, actionId: buttons[0].action_id });
  await fake.waitForAck(refused);
  assert.equal(fake.callsOf("chat.postEphemeral").length, 1, "the stranger is told, only them");
  assert.equal(t.host.desk.get(question.id).answeredAt, null);

  const press = fake.pressButton({ channel: DM, ts, user: OWNER, actionId: buttons[1].action_id });
  await fake.waitForAck(press);
  assert.equal(t.host.desk.get(question.id).answer, "not yet");
  assert.equal(t.host.desk.get(question.id).answeredBy, `slack:${OWNER}`);
  assert.match(agent.inbound.pendingMessages().at(-1)!.content, /Answer: not yet/);
  const [update] = fake.callsOf("chat.update");
  assert.deepEqual([update.params.channel, update.params.ts], [DM, ts]);
  assert.match(String(update.params.text), /not yet/);
});

Deno.test("slack: files both ways — url_private fetched with the bot token into the workspace; send_file uploads", async () => {
  using dir = tempDir();
  await using fake = FakeSlack.start();
  await using t = await openSlackHost(dir.path, fake);
  wire(t, DM);
  await t.slack.start();
  await fake.waitForConnections(1);
  const bytes = new TextEncoder().encode("quarterly numbers\n");
  const { envelopeId } = fake.sendUserMessage({
    channel: DM,
    user: OWNER,
    text: "see attached",
    files: [{ name: "report.txt", bytes, mimetype: "text/plain" }],
  });
  await fake.waitForAck(envelopeId);
  using agent = await t.host.agent(sessionOf(t, DM));
  const [m] = agent.inbound.pendingMessages();
  assert.equal(fake.downloads.length, 1);
  assert.match(m.content, /^see attached\n\[attachment: \/workspace\/report\.txt \(18 bytes, text\/plain;/);

  agent.outbound.writeMessageOut({
    id: "f1",
    kind: "chat",
    inReplyTo: m.id,
    content: "[file: out/summary.md]\nthe summary\n\n# Summary\nall good\n",
  });
  const [pass] = await t.host.delivery.deliverAll();
  assert.deepEqual(pass.handled.map((h) => h.outcome), ["delivered"]);
  const [asked] = fake.callsOf("files.getUploadURLExternal");
  assert.equal(asked.params.filename, "summary.md");
  const [done] = fake.callsOf("files.completeUploadExternal");
  assert.equal(done.params.channel_id, DM);
  assert.equal(done.params.initial_comment, "the summary");
  const fileId = (done.params.files as { id: string }[])[0].id;
  assert.equal(new TextDecoder().decode(fake.uploads.get(fileId)!.bytes), "# Summary\nall good\n");
});

Deno.test("slack: a 429 is waited out for its Retry-After; a dropped socket reconnects and loses nothing", async () => {
  using dir = tempDir();
  await using fake = FakeSlack.start();
  await using t = await openSlackHost(dir.path, fake);
  wire(t, DM);
  await t.slack.start();
  await fake.waitForConnections(1);
  await fake.waitForAck(fake.sendUserMessage({ channel: DM, user: OWNER, text: "one" }).envelopeId);
  using agent = await t.host.agent(sessionOf(t, DM));

  fake.rateLimitNext("chat.postMessage", 7);
  const [m] = agent.inbound.pendingMessages();
  agent.outbound.writeMessageOut({ id: "r1", kind: "chat", inReplyTo: m.id, content: "after the wait" });
  const [pass] = await t.host.delivery.deliverAll();
  assert.deepEqual(pass.handled.map((h) => h.outcome), ["delivered"]);
  assert.deepEqual(t.sleeps, [7_000], "Retry-After honoured");
  assert.deepEqual(fake.callsOf("chat.postMessage").map((c) => c.status), [429, 200]);

  fake.dropSockets();
  const lost = fake.sendUserMessage({ channel: DM, user: OWNER, text: "sent while the socket was down" });
  await fake.waitForConnections(2);
  await fake.waitForAck(lost.envelopeId);
  fake.askToReconnect();
  await fake.waitForConnections(3);
  await fake.waitForAck(
    fake.sendUserMessage({ channel: DM, user: OWNER, text: "after a refresh" }).envelopeId,
  );
  assert.deepEqual(agent.inbound.pendingMessages().map((x) => x.content), [
    "one",
    "sent while the socket was down",
    "after a refresh",
  ]);
});

Deno.test("slack: the Events API over HTTP checks the signing secret (v0, five minutes) and answers the URL check", async () => {
  using dir = tempDir();
  await using fake = FakeSlack.start();
  const signingSecret = "8f742231b10e8888abcd99yyyzzz85a5";
  await using t = await openSlackHost(dir.path, fake, { receive: { mode: "webhook", signingSecret } });
  wire(t, DM);
  await t.slack.start();
  const handler = t.slack.webhookHandler()!;
  const post = async (body: string, options: { secret?: string; at?: number } = {}) => {
    const ts = String(options.at ?? Math.floor(Date.now() / 1000));
    return await handler(
      new Request("http://x/v1/channels/slack/webhook", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-slack-request-timestamp": ts,
          "x-slack-signature": await slackSignature(ts, body, options.secret ?? signingSecret),
        },
        body,
      }),
    );
  };
  const check = await post(JSON.stringify({ type: "url_verification", challenge: "c-123" }));
  assert.deepEqual(await check.json(), { challenge: "c-123" });

  const event = JSON.stringify({
    type: "event_callback",
    event_id: "Ev1",
    event: {
      type: "message",
      channel: DM,
      channel_type: "im",
      user: OWNER,
      text: "over http",
      ts: fake.nextTs(),
    },
  });
  const forged = await post(event, { secret: "not-the-secret" });
  assert.equal(forged.status, 401);
  const stale = await post(event, { at: Math.floor(Date.now() / 1000) - 301 });
  assert.equal(stale.status, 401);
  await stale.body?.cancel();
  await forged.body?.cancel();
  assert.equal(t.host.registry.listSessions().length, 0, "nothing routed from a refused request");
  const ok = await post(event);
  assert.equal(ok.status, 200);
  assert.deepEqual((await t.host.inbox(sessionOf(t, DM))).map((m) => m.content), ["over http"]);
  assert.equal(fake.connections, 0, "no Socket Mode connection in Events API mode");
});
