/**
 * Slack end to end, with the `demo` agent in a gVisor (runsc) sandbox: a
 * configured channel is started by the control plane itself and reaches a
 * local fake Slack over Socket Mode and the Web API, through the official
 * Slack libraries. In a channel under `strict`: a member's message is
 * answered in its thread (after a 429 waited out) and a stranger's is not
 * (nor their file fetched); a file goes both ways; a question's button
 * press answers it; a dropped socket reconnects without losing or
 * duplicating a message. Skipped where runsc does not run (CI has it).
 */
import assert from "node:assert/strict";
import { ChannelConfigStore } from "../../src/channels/mod.ts";
import { ControlPlane, DEMO_AGENT_ID } from "../../src/control_plane/mod.ts";
import { FakeSlack, type RecordedCall } from "../support/fake_slack.ts";
import { LIBRARY, tempDir } from "../support/mod.ts";
import { runscWorks } from "../support/runsc.ts";

const BOT_ENV = "IRONCLAW_E2E_SLACK_BOT_TOKEN";
const APP_ENV = "IRONCLAW_E2E_SLACK_APP_TOKEN";
const CHANNEL = "C0E2E0001";
const MEMBER = "UMEMBER01";
const STRANGER = "USTRANGE1";
/** How long one reply may take (a sandbox's first launch included). */
const REPLY_MS = 120_000;

/** What an operator does once: `ironclaw channel add slack …`, a member, and the channel wired to the demo agent. */
async function configure(stateDir: string, apiRoot: string): Promise<void> {
  const setup = await ControlPlane.open({ stateDir, dev: true, library: LIBRARY, background: false });
  try {
    new ChannelConfigStore(setup.state).put({
      type: "slack",
      tokenEnv: BOT_ENV,
      secretEnvs: { app: APP_ENV },
      apiRoot,
    });
    setup.registry.addMember(`slack:${MEMBER}`, DEMO_AGENT_ID);
    const chat = setup.registry.getOrCreateMessagingGroup({
      channelType: "slack",
      platformId: CHANNEL,
      isGroup: true,
      unknownSenderPolicy: "strict",
    });
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

/** The bot's successful text posts (not questions). */
function replies(slack: FakeSlack): RecordedCall[] {
  return slack.callsOf("chat.postMessage").filter((c) => c.status === 200 && c.params.blocks === undefined);
}

/** Sends `text` as the member and waits for the agent's answer to it. */
async function ask(slack: FakeSlack, text: string, files?: { name: string; bytes: Uint8Array }[]) {
  const before = replies(slack).length;
  const { event } = slack.sendUserMessage({ channel: CHANNEL, user: MEMBER, text, files });
  await slack.until(() => replies(slack).length > before, `the answer to ${JSON.stringify(text)}`, REPLY_MS);
  return { event, reply: replies(slack)[before] };
}

Deno.test({
  name:
    "slack (runsc): answered in thread, strangers not, files both ways, a button answers, 429s and dropped sockets survived",
  ignore: !(await runscWorks()),
  async fn() {
    using dir = tempDir("ironclaw-slack-e2e-");
    await using slack = FakeSlack.start();
    Deno.env.set(BOT_ENV, slack.botToken);
    Deno.env.set(APP_ENV, slack.appToken);
    try {
      await configure(dir.path, slack.apiRoot);
      const plane = await ControlPlane.open({
        stateDir: dir.path,
        dev: true,
        library: LIBRARY,
        isolator: "runsc",
        agentPollMs: 200,
      });
      try {
        await slack.waitForConnections(1);

        // A stranger under `strict`: not answered, their file never fetched.
        const stranger = slack.sendUserMessage({
          channel: CHANNEL,
          user: STRANGER,
          text: `<@${slack.botUserId}> take this`,
          files: [{ name: "stranger.txt", bytes: new TextEncoder().encode("not for you") }],
        });
        await slack.waitForAck(stranger.envelopeId);

        // The member's file, read by the agent inside gVisor; the answer waits out a 429 and lands in the thread.
        slack.rateLimitNext("chat.postMessage", 1);
        const secret = "the password is tangerine";
        const read = await ask(slack, 'tool:read_file {"path":"notes.txt"}', [
          { name: "notes.txt", bytes: new TextEncoder().encode(secret) },
        ]);
        assert.equal(read.reply.params.text, `mock-agent tool result: ${secret}`);
        assert.deepEqual([read.reply.params.channel, read.reply.params.thread_ts], [CHANNEL, read.event.ts]);
        assert.deepEqual(slack.callsOf("chat.postMessage").slice(0, 2).map((c) => c.status), [429, 200]);
        assert.equal(slack.downloads.length, 1, "only the member's file was fetched");

        // And back: send_file arrives through the upload flow, in the thread.
        await ask(slack, 'tool:send_file {"path":"notes.txt"}');
        const [done] = await slack.waitForCalls("files.completeUploadExternal", 1, REPLY_MS);
        assert.equal(done.params.channel_id, CHANNEL);
        const [file] = done.params.files as { id: string }[];
        assert.equal(new TextDecoder().decode(slack.uploads.get(file.id)!.bytes), secret);

        // A question as buttons; the member's press answers it and the agent goes on with the answer.
        const asked = replies(slack).length;
        slack.sendUserMessage({
          channel: CHANNEL,
          user: MEMBER,
          text: 'tool:ask_user_question {"question":"Deploy now?","options":["yes","not yet"]}',
        });
        await slack.until(
          () => slack.callsOf("chat.postMessage").some((c) => c.params.blocks !== undefined),
          "the question",
          REPLY_MS,
        );
        const post = slack.callsOf("chat.postMessage").find((c) => c.params.blocks !== undefined)!;
        const buttons = (post.params.blocks as { type: string; elements?: { action_id: string }[] }[])
          .find((b) => b.type === "actions")!.elements!;
        const press = slack.pressButton({
          channel: CHANNEL,
          ts: (post.result as { ts: string }).ts,
          user: MEMBER,
          actionId: buttons[1].action_id,
        });
        await slack.waitForAck(press);
        assert.deepEqual(
          slack.callsOf("chat.postEphemeral").map((c) => c.params.text),
          [],
          "the press is taken",
        );
        await slack.until(
          () => replies(slack).slice(asked).some((c) => String(c.params.text).includes("not yet")),
          "the agent going on with the answer",
          REPLY_MS,
        );

        // The socket drops; a message sent meanwhile arrives after the reconnect, answered once.
        slack.dropSockets();
        slack.sendUserMessage({ channel: CHANNEL, user: MEMBER, text: "sent while the socket was down" });
        await slack.waitForConnections(2, REPLY_MS);
        await slack.until(
          () => replies(slack).some((c) => String(c.params.text).includes("sent while the socket was down")),
          "the answer after the reconnect",
          REPLY_MS,
        );
        await ask(slack, "and one more");
        const texts = replies(slack).map((c) => String(c.params.text));
        assert.equal(
          texts.filter((t) => t.includes("sent while the socket was down")).length,
          1,
          texts.join(" | "),
        );
        assert.ok(!texts.some((t) => t.includes("take this")), "the stranger was never answered");
      } finally {
        await plane.close();
      }
    } finally {
      Deno.env.delete(BOT_ENV);
      Deno.env.delete(APP_ENV);
    }
  },
});
