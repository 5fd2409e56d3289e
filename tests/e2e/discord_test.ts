/**
 * Discord end to end under runsc: the operator adds the channel with the
 * real CLI (`ironclaw channel add discord --token-env VAR --api-root URL`),
 * the control plane starts it, and the `demo` agent, sandboxed in gVisor,
 * talks to the fake Discord through `@discordjs/core` over the real REST and
 * Gateway protocols. In a guild channel under `strict`: a stranger's
 * mention is not answered (their file never fetched); a member's is,
 * in a thread on their message, reading the file they attached inside the
 * sandbox; the thread goes on without mentions; `send_file` comes back as an
 * attachment after a 429 is waited out; a question's button press answers
 * it; a dropped gateway connection resumes and the message sent meanwhile is
 * answered exactly once.
 */
import assert from "node:assert/strict";
import { HOST_PERMISSION_FLAGS } from "../../contract/permissions.ts";
import { ControlPlane, DEMO_AGENT_ID } from "../../src/control_plane/mod.ts";
import { type DiscordCall, FakeDiscord } from "../support/fake_discord.ts";
import { LIBRARY, tempDir } from "../support/mod.ts";
import { backendWorks } from "./harness.ts";
import { openPlane } from "./plane.ts";

const TOKEN_ENV = "IRONCLAW_E2E_DISCORD_TOKEN";
const MEMBER = "4242";
const STRANGER = "6666";
const GUILD = "500";
const CHANNEL = "2000";
/** How long one reply may take (a sandbox's first launch included). */
const REPLY_MS = 120_000;

/** `ironclaw channel add discord` as the operator runs it (the plane stopped). */
async function channelAdd(stateDir: string, apiRoot: string): Promise<string> {
  const entry = new URL("../../cli/main.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...HOST_PERMISSION_FLAGS,
      entry,
      "channel",
      "add",
      "discord",
      "--token-env",
      TOKEN_ENV,
      "--api-root",
      apiRoot,
      "--state-dir",
      stateDir,
    ],
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, text);
  return text;
}

Deno.test({
  name:
    "discord (runsc): thread replies, strict strangers, files both ways, a 429, a button answer, a resumed gateway",
  ignore: !(await backendWorks("runsc")),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    using dir = tempDir("ironclaw-e2e-discord-");
    await using discord = FakeDiscord.start();
    {
      const setup = await ControlPlane.open({
        stateDir: dir.path,
        dev: true,
        library: LIBRARY,
        background: false,
      });
      try {
        setup.registry.addMember(`discord:${MEMBER}`, DEMO_AGENT_ID);
        const chat = setup.registry.getOrCreateMessagingGroup({
          channelType: "discord",
          platformId: CHANNEL,
          isGroup: true,
          unknownSenderPolicy: "strict",
        });
        setup.registry.putWiring({
          messagingGroupId: chat.id,
          agentGroupId: DEMO_AGENT_ID,
          engageMode: "mention",
          engagePattern: "",
        });
      } finally {
        await setup.close();
      }
    }
    assert.match(
      await channelAdd(dir.path, discord.apiRoot),
      /added channel discord: token from \$IRONCLAW_E2E_DISCORD_TOKEN/,
    );

    Deno.env.set(TOKEN_ENV, discord.token);
    try {
      await using _plane = await openPlane(dir.path, { isolator: "runsc" });
      await discord.waitFor("the gateway session", () => discord.connected, 30_000);
      const mention = { guildId: GUILD, mentions: [discord.bot.id] };
      const bodies = (calls: DiscordCall[]) => calls.map((c) => String(c.body.content ?? ""));

      // A stranger under strict: not answered, their file never fetched.
      discord.sendUserMessage({
        channelId: CHANNEL,
        ...mention,
        author: { id: STRANGER },
        content: `<@${discord.bot.id}> take this`,
        attachments: [discord.addFile(new TextEncoder().encode("not for you"), "stranger.txt")],
      });

      // A member's mention with a file: read inside the sandbox, answered in a thread on their message.
      const secret = "the password is tangerine";
      const asked = discord.sendUserMessage({
        channelId: CHANNEL,
        ...mention,
        author: { id: MEMBER },
        content: `<@${discord.bot.id}> tool:read_file {"path":"notes.txt"}`,
        attachments: [
          discord.addFile(new TextEncoder().encode(secret), "notes.txt", { contentType: "text/plain" }),
        ],
      });
      const thread = await discord.waitFor(
        "a thread on the member's message",
        () => discord.callsTo("POST", new RegExp(`^/channels/${CHANNEL}/messages/${asked.id}/threads$`))[0],
        REPLY_MS,
      );
      const threadId = (thread.response as { id: string }).id;
      const inThread = () => discord.messagesIn(threadId);
      await discord.waitFor("the answer in the thread", () => inThread().length >= 1, REPLY_MS);
      assert.deepEqual(bodies(inThread()), [`mock-agent tool result: ${secret}`]);
      assert.deepEqual(
        discord.messagesIn(CHANNEL),
        [],
        "nothing in the channel itself: the stranger got no answer",
      );
      assert.equal(discord.downloads.length, 1, "only the member's file was fetched");
      assert.ok(
        discord.callsTo("POST", new RegExp(`^/channels/${CHANNEL}/typing$`)).length >= 1,
        "typing shown",
      );

      // In the thread, no mention: send_file comes back as an attachment, after a 429 is waited out.
      discord.failNext({
        method: "POST",
        route: new RegExp(`^/channels/${threadId}/messages$`),
        status: 429,
        retryAfter: 1,
      });
      discord.sendUserMessage({
        channelId: threadId,
        guildId: GUILD,
        author: { id: MEMBER },
        content: 'tool:send_file {"path":"notes.txt","caption":"here it is"}',
      });
      const upload = await discord.waitFor(
        "the file",
        () => inThread().find((c) => c.files["files[0]"]),
        REPLY_MS,
      );
      assert.equal(upload.body.content, "here it is");
      assert.equal(upload.files["files[0]"].name, "notes.txt");
      assert.equal(new TextDecoder().decode(upload.files["files[0]"].bytes), secret);
      const limited = discord.calls.find((c) => c.status === 429)!;
      const retried = discord.calls.find((c) => c.seq > limited.seq && c.route === limited.route)!;
      assert.ok(retried.at - limited.at >= 900, `the 429 was waited out (${retried.at - limited.at} ms)`);
      await discord.waitFor("the send_file result", () => inThread().length >= 3, REPLY_MS);
      assert.match(bodies(inThread())[2], /^mock-agent tool result: sent \d+ bytes to this conversation$/);

      // A question, posted with buttons in the thread; the member's press answers it.
      discord.sendUserMessage({
        channelId: threadId,
        guildId: GUILD,
        author: { id: MEMBER },
        content: 'tool:ask_user_question {"question":"Deploy now?","options":["yes","not yet"]}',
      });
      const question = await discord.waitFor(
        "the question's buttons",
        () => inThread().find((c) => Array.isArray(c.body.components)),
        REPLY_MS,
      );
      const [row] = question.body.components as { components: { label: string; custom_id: string }[] }[];
      assert.deepEqual(row.components.map((b) => b.label), ["yes", "not yet"]);
      discord.pressButton(
        { id: (question.response as { id: string }).id, channel_id: threadId, guild_id: GUILD },
        { customId: row.components[1].custom_id, userId: MEMBER },
      );
      const [ack] = await discord.waitFor(
        "the press acknowledged",
        () =>
          discord.callsTo("POST", /^\/interactions\/\d+\/[^/]+\/callback$/).length === 1 &&
          discord.callsTo("POST", /^\/interactions\/\d+\/[^/]+\/callback$/),
        REPLY_MS,
      );
      assert.equal(ack.body.type, 7, `the question's message shows the answer: ${JSON.stringify(ack.body)}`);
      await discord.waitFor(
        "the agent's answer",
        () => bodies(inThread()).some((b) => /not yet/.test(b) && /received/.test(b)),
        REPLY_MS,
      );

      // The gateway drops; a message sent meanwhile is replayed on resume and answered once.
      const before = inThread().length;
      discord.dropConnection();
      const say = (content: string) =>
        discord.sendUserMessage({ channelId: threadId, guildId: GUILD, author: { id: MEMBER }, content });
      const answers = (text: string) =>
        bodies(inThread()).slice(before).filter((b) => b.endsWith(text)).length;
      say("sent while cut off");
      await discord.waitFor(
        "the resume",
        () => discord.gateway.resumes.length === 1 && discord.connected,
        60_000,
      );
      await discord.waitFor(
        "the missed message's answer",
        () => answers("sent while cut off") >= 1,
        REPLY_MS,
      );
      say("and after");
      await discord.waitFor("the next answer", () => answers("and after") >= 1, REPLY_MS);
      assert.deepEqual(bodies(inThread()).slice(before), [
        "mock-agent received: sent while cut off",
        "mock-agent received: and after",
      ], "each answered once");
      assert.equal(discord.gateway.identifies.length, 1, "resumed, not identified anew");
      assert.deepEqual(discord.gateway.resumes.map((r) => r.replayed), [1]);
    } finally {
      Deno.env.delete(TOKEN_ENV);
    }
  },
});
