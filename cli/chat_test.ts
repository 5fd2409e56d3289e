import assert from "node:assert/strict";
import { DEMO_AGENT_ID } from "../src/control_plane/mod.ts";
import type { ChannelMessage } from "../src/delivery/adapter.ts";
import { runCli } from "./program.ts";
import { chatLoop, ChatSession, defaultChatId, parseTimeout, readLines, type Spinner } from "./chat.ts";
import { ApiClient } from "./client.ts";
import { CliError } from "./errors.ts";
import { captureIo } from "./output.ts";
import { servedFakePlane } from "./test_helpers.ts";

/** A fake-sandbox control plane behind a real API server, and a client of it. */
async function serve() {
  const t = await servedFakePlane();
  /** Plays the agent: each message routed to a session is answered `echo: <text>` on its chat. */
  const agentReplies = (prefix = "echo") => {
    const send = t.plane.webChat.send.bind(t.plane.webChat);
    t.plane.webChat.send = async (input) => {
      const sent = await send(input);
      if (sent.engaged) {
        queueMicrotask(() =>
          void t.plane.webChat.deliver({
            id: crypto.randomUUID(),
            platformId: sent.conversationId,
            threadId: null,
            content: `${prefix}: ${input.text}`,
            timestamp: new Date().toISOString(),
          } as ChannelMessage)
        );
      }
      return sent;
    };
  };
  return { ...t, agentReplies, client: new ApiClient(t.server.url, t.token) };
}

Deno.test("--timeout takes positive seconds; the default chat is the CLI's own per agent", () => {
  assert.equal(parseTimeout("1.5"), 1500);
  assert.equal(parseTimeout(undefined), 120_000);
  for (const bad of ["0", "-1", "soon"]) assert.throws(() => parseTimeout(bad), CliError);
  assert.equal(defaultChatId("demo"), "cli-demo");
  assert.equal(defaultChatId("x".repeat(200)).length, 128);
});

Deno.test("chat --message prints the reply, not a stale one left in the chat", async () => {
  await using s = await serve();
  s.agentReplies();
  await s.plane.webChat.deliver({
    id: "stale",
    platformId: "cli-demo",
    threadId: null,
    content: "stale reply",
    timestamp: new Date().toISOString(),
  } as ChannelMessage);
  const io = captureIo();
  assert.equal(
    await runCli(["chat", "demo", "--message", "hi there", ...s.flags], io),
    0,
    io.stderr.join("\n"),
  );
  assert.deepEqual(io.stdout, ["echo: hi there"]);
  const json = captureIo();
  assert.equal(await runCli(["chat", "demo", "-m", "again", "--json", ...s.flags], json), 0);
  assert.equal(JSON.parse(json.stdout.join("\n"))[0].content, "echo: again");
});

Deno.test("chat --message fails in one line when no reply comes in time, the agent is out of reach, or unknown", async () => {
  await using s = await serve();
  const io = captureIo();
  assert.equal(await runCli(["chat", "demo", "-m", "hello?", "--timeout", "0.05", ...s.flags], io), 1);
  assert.match(io.stderr.join("\n"), /^ironclaw: no reply from demo within 0\.05s/);
  s.plane.registry.putAgentGroup({ id: "private", name: "Private" });
  const denied = captureIo();
  assert.equal(await runCli(["chat", "private", "-m", "hi", ...s.flags], denied), 1);
  assert.equal(
    denied.stderr.join("\n"),
    "ironclaw: private did not take the message (access-denied: no-access); grant yourself access with: " +
      "ironclaw registry add-member --user web:console --agent private",
  );
  const noTerminal = captureIo(false);
  assert.equal(await runCli(["chat", "demo", ...s.flags], noTerminal), 1);
  assert.match(noTerminal.stderr[0], /use --message TEXT/);
  const unknown = captureIo();
  assert.equal(await runCli(["chat", "nobody", "-m", "hi", ...s.flags], unknown), 1);
  assert.deepEqual(unknown.stderr, ['ironclaw: no agent "nobody" here: `ironclaw agent list` shows them']);
});

Deno.test("the interactive loop sends each line, spins while waiting and prints the replies; /quit ends it", async () => {
  await using s = await serve();
  s.agentReplies("demo says");
  const io = captureIo(true);
  const prompts: string[] = [];
  const spins: string[] = [];
  const spinner: Spinner = { start: (label) => spins.push(label), stop: () => spins.push("stop") };
  const input = new Blob(["first\n\n  \nsecond\r\n/quit\nnever sent\n"]).stream();
  await chatLoop(io, new ChatSession(s.client, DEMO_AGENT_ID, "cli-demo"), {
    lines: readLines(input),
    prompt: (p) => prompts.push(p),
    spinner,
  }, 10_000);
  assert.deepEqual(io.stdout, [
    "chatting with demo (chat cli-demo); /quit or Ctrl-D to leave",
    "demo> demo says: first",
    "demo> demo says: second",
  ]);
  assert.deepEqual(spins, ["demo is working…", "stop", "demo is working…", "stop"]);
  assert.equal(prompts.length, 5);
  assert.deepEqual(io.stderr, []);
});

Deno.test("an agent made by agent create and approved answers its creator at once (no registry step)", async () => {
  await using s = await serve();
  s.agentReplies();
  const created = captureIo();
  const create = ["agent", "create", "--name", "Home Helper", "--template", "assistant", ...s.flags];
  assert.equal(await runCli(create, created), 0, created.stderr.join("\n"));
  assert.ok(created.stdout.includes("members: web:console (you, in `ironclaw chat` and the console)"));
  const changeId = created.stdout.join("\n").match(/^submitted (\S+): create agent home-helper/m)?.[1];
  assert.ok(changeId, created.stdout.join("\n"));
  const approved = captureIo();
  assert.equal(
    await runCli(["change", "approve", changeId, ...s.flags], approved),
    0,
    approved.stderr.join("\n"),
  );
  assert.deepEqual(approved.stdout, [
    `approved ${changeId}: status applied`,
    "talk to it with: ironclaw chat home-helper",
  ]);
  const chat = captureIo();
  assert.equal(
    await runCli(["chat", "home-helper", "-m", "hello", ...s.flags], chat),
    0,
    chat.stderr.join("\n"),
  );
  assert.deepEqual(chat.stdout, ["echo: hello"]);
});
