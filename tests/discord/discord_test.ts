/**
 * The Discord channel on the host path: `@discordjs/core` over REST and the
 * Gateway WebSocket to the local fake Discord, the router, session queues,
 * delivery and the question desk, with the agent played through the
 * sandbox-side queue API.
 */
import assert from "node:assert/strict";
import { formatAskUserRequest } from "../../contract/actions.ts";
import type { SessionId } from "../../contract/ids.ts";
import type { LogRecord } from "@logtape/logtape";
import { DISCORD_INTENTS, MESSAGE_CONTENT_FIX } from "../../src/channels/discord/mod.ts";
import { configureLogging } from "../../src/log/mod.ts";
import { DiscordAdapter } from "../../src/channels/discord/runtime.ts";
import { HostFixture } from "../support/host.ts";
import { tempDir } from "../support/mod.ts";
import { FakeDiscord } from "../support/fake_discord.ts";
import { openDiscordHost, wireChannel } from "./harness.ts";

const OWNER = "4242";
const STRANGER = "6666";
const GUILD = "500";
const CHANNEL = "2000";

Deno.test("discord: a mention in a guild channel is answered in a thread; the thread goes on without mentions", async () => {
  using dir = tempDir();
  await using fake = FakeDiscord.start();
  await using d = await openDiscordHost(dir.path, fake);
  wireChannel(d.host, CHANNEL, { ownerId: OWNER });
  assert.equal(fake.gateway.identifies[0].intents, DISCORD_INTENTS, "identified with the minimal intents");

  // Not mentioned: not engaged. Mentioned: engaged, typing shown.
  fake.sendUserMessage({
    channelId: CHANNEL,
    guildId: GUILD,
    author: { id: OWNER },
    content: "just chatting",
  });
  const asked = fake.sendUserMessage({
    channelId: CHANNEL,
    guildId: GUILD,
    author: { id: OWNER },
    content: `<@${fake.bot.id}> summarise the plan`,
    mentions: [fake.bot.id],
  });
  const [quiet, routed] = await d.events("MESSAGE_CREATE", 2);
  assert.equal(quiet.kind === "routed" && quiet.route.outcomes[0].kind, "not-engaged");
  assert.ok(routed.kind === "routed");
  const outcome = routed.route.outcomes[0];
  assert.equal(outcome.kind, "engaged");
  assert.equal(routed.route.senderId, `discord:${OWNER}`);
  assert.equal(fake.callsTo("POST", /^\/channels\/2000\/typing$/).length, 1, "typing while the agent works");

  using agent = await d.host.agent(outcome.sessionId!);
  const m = agent.inbound.pendingMessages().at(-1)!;
  assert.equal(m.content, "@ironclaw-test summarise the plan");
  const long = `${"word ".repeat(500)}\n${"more ".repeat(200)}`;
  agent.outbound.writeMessageOut({ id: "r1", kind: "chat", inReplyTo: m.id, content: long });
  const [pass] = await d.host.delivery.deliverAll();
  assert.deepEqual(pass.handled.map((h) => h.outcome), ["delivered"]);

  const [thread] = fake.callsTo("POST", /^\/channels\/2000\/messages\/\d+\/threads$/);
  assert.equal(
    thread.route,
    `/channels/${CHANNEL}/messages/${asked.id}/threads`,
    "the thread starts on the message",
  );
  const threadId = (thread.response as { id: string }).id;
  assert.equal(fake.messagesIn(CHANNEL).length, 0, "the reply is in the thread, not the channel");
  const pieces = fake.messagesIn(threadId);
  assert.equal(pieces.length, 2, "split at Discord's 2000 characters");
  assert.ok(pieces.every((p) => String(p.body.content).length <= 2000));
  assert.equal(
    pieces.map((p) => p.body.content).join(" ").replace(/\s+/g, " ").trim(),
    long.replace(/\s+/g, " ").trim(),
  );
  assert.deepEqual(pieces[0].body.allowed_mentions, { parse: [], replied_user: false }, "no pings");
  await d.host.delivery.deliverAll();
  assert.equal(fake.messagesIn(threadId).length, 2, "a delivered reply is not sent again");

  // In the bot's thread no mention is needed, and the conversation keeps its session.
  fake.sendUserMessage({ channelId: threadId, guildId: GUILD, author: { id: OWNER }, content: "and then?" });
  const [, , inThread] = await d.events("MESSAGE_CREATE", 3);
  assert.ok(inThread.kind === "routed");
  assert.equal(inThread.route.outcomes[0].kind, "engaged");
  const follow = agent.inbound.pendingMessages().at(-1)!;
  assert.deepEqual([follow.platformId, follow.threadId, follow.content], [CHANNEL, threadId, "and then?"]);
});

Deno.test("discord: a stranger under strict is dropped and their file never fetched; a DM is answered as a reply", async () => {
  using dir = tempDir();
  await using fake = FakeDiscord.start();
  await using d = await openDiscordHost(dir.path, fake);
  wireChannel(d.host, CHANNEL, { ownerId: OWNER, policy: "strict" });
  const dm = "3000";
  wireChannel(d.host, dm, { isGroup: false });

  const file = fake.addFile(new TextEncoder().encode("not for you"), "stranger.txt", {
    contentType: "text/plain",
  });
  fake.sendUserMessage({
    channelId: CHANNEL,
    guildId: GUILD,
    author: { id: STRANGER },
    content: `<@${fake.bot.id}> take this`,
    mentions: [fake.bot.id],
    attachments: [file],
  });
  const [dropped] = await d.events("MESSAGE_CREATE");
  assert.ok(dropped.kind === "routed");
  assert.equal(dropped.route.outcomes[0].kind, "access-denied");
  assert.ok(!(await allNames(d.sandboxRoot)).some((n) => n.startsWith("stranger")), "nothing written");
  assert.deepEqual(fake.downloads, [], "the stranger's file was never fetched");

  const hello = fake.sendUserMessage({ channelId: dm, author: { id: OWNER }, content: "hello in private" });
  const [, routed] = await d.events("MESSAGE_CREATE", 2);
  assert.ok(routed.kind === "routed" && routed.route.outcomes[0].kind === "engaged", "a DM needs no mention");
  using agent = await d.host.agent(routed.route.outcomes[0].sessionId!);
  const m = agent.inbound.pendingMessages()[0];
  agent.outbound.writeMessageOut({ id: "r1", kind: "chat", inReplyTo: m.id, content: "hi" });
  await d.host.delivery.deliverAll();
  const [reply] = fake.messagesIn(dm);
  assert.deepEqual(reply.body.message_reference, { message_id: hello.id, fail_if_not_exists: false });
  assert.equal(fake.callsTo("POST", /\/threads$/).length, 0, "no thread in a DM");
});

Deno.test("discord: a question's button press answers it, acknowledged by editing the question; a stranger's press is refused to them alone", async () => {
  using dir = tempDir();
  await using fake = FakeDiscord.start();
  await using d = await openDiscordHost(dir.path, fake);
  wireChannel(d.host, CHANNEL, { ownerId: OWNER, policy: "strict" });
  fake.sendUserMessage({
    channelId: CHANNEL,
    guildId: GUILD,
    author: { id: OWNER },
    content: `<@${fake.bot.id}> deploy`,
    mentions: [fake.bot.id],
  });
  const [routed] = await d.events("MESSAGE_CREATE");
  const sessionId = (routed.kind === "routed" && routed.route.outcomes[0].sessionId) as SessionId;
  using agent = await d.host.agent(sessionId);
  agent.outbound.writeMessageOut({
    id: "ask1",
    kind: "system",
    content: formatAskUserRequest({ question: "Deploy now?", options: ["yes", "not yet"] }),
  });
  const [pass] = await d.host.delivery.deliverAll();
  assert.deepEqual(pass.handled.map((h) => h.outcome), ["asked"]);
  assert.equal(await d.discord.postQuestions(), 1);
  assert.equal(await d.discord.postQuestions(), 0, "posted once");
  const [post] = fake.messagesIn(CHANNEL);
  const rows = post.body.components as { components: { label: string; custom_id: string }[] }[];
  assert.deepEqual(rows.map((r) => r.components.map((b) => b.label)), [["yes", "not yet"]]);
  const [question] = d.host.desk.pending();
  const posted = { id: (post.response as { id: string }).id, channel_id: CHANNEL, guild_id: GUILD };

  fake.pressButton(posted, { customId: rows[0].components[0].custom_id, userId: STRANGER });
  fake.pressButton(posted, { customId: rows[0].components[1].custom_id, userId: OWNER });
  const [stranger, owner] = await d.events("INTERACTION_CREATE", 2);
  assert.equal(stranger.kind, "refused");
  assert.equal(owner.kind, "answered");
  const callbacks = fake.callsTo("POST", /^\/interactions\/\d+\/[^/]+\/callback$/);
  assert.equal(callbacks.length, 2, "every press is acknowledged");
  assert.deepEqual([callbacks[0].body.type, (callbacks[0].body.data as { flags: number }).flags], [4, 64]);
  assert.equal(callbacks[1].body.type, 7, "the answer updates the question's message");
  assert.match(String((callbacks[1].body.data as { content: string }).content), /✅ not yet/);
  assert.equal(d.host.desk.get(question.id).answer, "not yet");
  assert.equal(d.host.desk.get(question.id).answeredBy, `discord:${OWNER}`);
  assert.match(agent.inbound.pendingMessages().at(-1)!.content, /Answer: not yet/);
});

/** Every file name under `dir`, recursively (a missing directory has none). */
async function allNames(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      names.push(e.name);
      if (e.isDirectory) names.push(...await allNames(`${dir}/${e.name}`));
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return names;
}

Deno.test("discord: a 429 on a reply is waited out; a dropped gateway resumes and the message sent meanwhile is handled once", async () => {
  using dir = tempDir();
  await using fake = FakeDiscord.start({ heartbeatMs: 500 });
  await using d = await openDiscordHost(dir.path, fake);
  const dm = "3000";
  wireChannel(d.host, dm, { isGroup: false, ownerId: OWNER });
  fake.sendUserMessage({ channelId: dm, author: { id: OWNER }, content: "first" });
  const [first] = await d.events("MESSAGE_CREATE");
  const sessionId = (first.kind === "routed" && first.route.outcomes[0].sessionId) as SessionId;
  using agent = await d.host.agent(sessionId);
  const m = agent.inbound.pendingMessages()[0];

  fake.failNext({ method: "POST", route: /^\/channels\/3000\/messages$/, status: 429, retryAfter: 1 });
  agent.outbound.writeMessageOut({ id: "r1", kind: "chat", inReplyTo: m.id, content: "after the wait" });
  const [pass] = await d.host.delivery.deliverAll();
  assert.deepEqual(pass.handled.map((h) => h.outcome), ["delivered"]);
  const [limited, sent] = fake.calls.filter((c) => c.route === `/channels/${dm}/messages`);
  assert.deepEqual([limited.status, sent.status], [429, 200]);
  assert.ok(sent.at - limited.at >= 900, `sent ${sent.at - limited.at} ms after the 429 asked for 1 s`);
  assert.equal(fake.messagesIn(dm).length, 1);

  fake.dropConnection();
  fake.sendUserMessage({ channelId: dm, author: { id: OWNER }, content: "sent while the bot was cut off" });
  await fake.waitFor("the resume", () => fake.gateway.resumes.length === 1 && fake.connected);
  fake.sendUserMessage({ channelId: dm, author: { id: OWNER }, content: "after" });
  await d.events("MESSAGE_CREATE", 3);
  assert.deepEqual(fake.gateway.resumes.map((r) => [r.path, r.replayed]), [["/resume", 1]]);
  assert.equal(fake.gateway.identifies.length, 1, "resumed, not identified anew");
  assert.deepEqual(agent.inbound.pendingMessages().map((x) => x.content), [
    "first",
    "sent while the bot was cut off",
    "after",
  ]);
});

Deno.test("discord: a restart resumes the kept gateway session; what was sent while down is handled, nothing twice", async () => {
  using dir = tempDir();
  await using fake = FakeDiscord.start({ heartbeatMs: 500 });
  const dm = "3000";
  const contents = async (d: Awaited<ReturnType<typeof openDiscordHost>>, sessionId: SessionId) => {
    using agent = await d.host.agent(sessionId);
    return agent.inbound.pendingMessages().map((m) => m.content);
  };
  let sessionId: SessionId;
  {
    await using d = await openDiscordHost(dir.path, fake);
    wireChannel(d.host, dm, { isGroup: false, ownerId: OWNER });
    fake.sendUserMessage({ channelId: dm, author: { id: OWNER }, content: "before the restart" });
    const [routed] = await d.events("MESSAGE_CREATE");
    sessionId = (routed.kind === "routed" && routed.route.outcomes[0].sessionId) as SessionId;
  }
  // The host is down: Discord keeps the session and what is sent meanwhile.
  fake.sendUserMessage({ channelId: dm, author: { id: OWNER }, content: "while the host was down" });
  {
    await using d = await openDiscordHost(dir.path, fake);
    await fake.waitFor("the resume", () => fake.gateway.resumes.length === 1 && fake.connected);
    await d.events("MESSAGE_CREATE");
    assert.equal(fake.gateway.identifies.length, 1, "resumed, not identified anew");
    assert.deepEqual(await contents(d, sessionId), ["before the restart", "while the host was down"]);
  }
  // A crash between routing a message and keeping its sequence: Discord replays it, and it is not routed again.
  using dir2 = tempDir();
  let once: SessionId;
  {
    await using d = await openDiscordHost(dir2.path, fake);
    wireChannel(d.host, dm, { isGroup: false, ownerId: OWNER });
    fake.sendUserMessage({ channelId: dm, author: { id: OWNER }, content: "once" });
    const [routed] = await d.events("MESSAGE_CREATE");
    once = (routed.kind === "routed" && routed.route.outcomes[0].sessionId) as SessionId;
    d.host.state.db.run("UPDATE channel_gateway_sessions SET sequence = sequence - 1");
  }
  {
    await using d = await openDiscordHost(dir2.path, fake);
    await fake.waitFor("the second resume", () => fake.gateway.resumes.length === 2 && fake.connected);
    const [replayed] = await d.events("MESSAGE_CREATE");
    assert.deepEqual(replayed, { kind: "ignored", detail: "handled already" });
    assert.deepEqual(await contents(d, once), ["once"]);
  }
});

Deno.test("discord: without the Message Content intent enabled, the gateway's 4014 is logged with the fix, the token never", async () => {
  const seen: LogRecord[] = [];
  await configureLogging({ sink: (r) => void seen.push(r), level: "info" });
  await using _logs = { [Symbol.asyncDispose]: () => configureLogging({ sink: () => {} }) };
  using dir = tempDir();
  await using fake = FakeDiscord.start({ messageContent: false });
  await using host = await HostFixture.open(dir.path);
  const discord = new DiscordAdapter({
    token: fake.token,
    apiRoot: fake.apiRoot,
    state: host.state,
    registry: host.registry,
    router: host.router,
  });
  await discord.start();
  try {
    const text = () => seen.map((r) => `${r.rawMessage} ${JSON.stringify(r.properties)}`);
    await fake.waitFor("the refusal logged", () => text().some((t) => t.includes("Message Content intent")));
    assert.equal(fake.gateway.identifies.length, 0, "Discord refused the IDENTIFY");
    const refusal = text().find((t) => t.includes("Message Content intent"))!;
    assert.ok(refusal.includes(MESSAGE_CONTENT_FIX), refusal);
    assert.ok(!text().some((t) => t.includes(fake.token)), "the token is in no log line");
  } finally {
    await discord.stop();
  }
});
