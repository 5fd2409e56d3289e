import assert from "node:assert/strict";
import { DEMO_AGENT_ID } from "../src/control_plane/mod.ts";
import type { ChannelMessage } from "../src/delivery/mod.ts";
import { runCli } from "./program.ts";
import {
  chatLoop,
  ChatSession,
  defaultChatId,
  parseTimeout,
  readLines,
  type Spinner,
  terminalSpinner,
} from "./chat.ts";
import { ApiClient } from "./client.ts";
import { CliError } from "./errors.ts";
import { captureIo } from "./output.ts";
import { servedFakePlane } from "../tests/support/served_plane.ts";

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
  const spinner: Spinner = {
    start: (label) => spins.push(label),
    stop: () => void (spins.length && spins.at(-1) !== "stop" && spins.push("stop")),
  };
  const input = new Blob(["first\n\n  \nsecond\r\n/quit\nnever sent\n"]).stream();
  await chatLoop(io, new ChatSession(s.client, DEMO_AGENT_ID, "cli-demo"), {
    lines: readLines(input),
    prompt: (p) => prompts.push(p),
    spinner,
  }, { timeoutMs: 10_000 });
  assert.deepEqual(io.stdout, [
    "chatting with demo (chat cli-demo); /quit or Ctrl-D to leave",
    "demo> demo says: first",
    "demo> demo says: second",
  ]);
  // A reply may beat the send's own answer, and then no spinner starts; one that starts is stopped.
  assert.match(spins.join(","), /^(demo is working…,stop,?)*$/);
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

/** Lines typed by a person: each waits until `ready` says the screen shows what it answers. */
async function* typed(steps: [ready: () => boolean, line: string][]): AsyncGenerator<string> {
  for (const [ready, line] of steps) {
    while (!ready()) await new Promise((r) => setTimeout(r, 10));
    yield line;
  }
}

Deno.test("the chat shows what arrives while it waits for input, and the agent's questions with an answer prompt", async () => {
  await using s = await serve();
  const io = captureIo(true);
  const prompts: string[] = [];
  const shown = (line: string) => () => io.stdout.includes(line);
  const session = new ChatSession(s.client, DEMO_AGENT_ID, "cli-demo");
  const loop = chatLoop(io, session, {
    lines: typed([
      [shown("demo> scheduled: water the plants"), "which one?"],
      [shown("demo asks: Basil or mint?"), "mint"],
      [shown("demo> mint it is"), "/quit"],
    ]),
    prompt: (p) => prompts.push(p),
    spinner: { start() {}, stop() {} },
  }, { timeoutMs: 10_000, questionPollMs: 20 });
  // A scheduled task's output, while the prompt waits.
  await new Promise((r) => setTimeout(r, 50));
  await s.plane.webChat.deliver({
    id: "task-1",
    platformId: "cli-demo",
    threadId: null,
    content: "scheduled: water the plants",
    timestamp: new Date().toISOString(),
  } as ChannelMessage);
  // The agent answers the next message with a question instead of a reply.
  while (s.plane.registry.listSessions().length === 0) await new Promise((r) => setTimeout(r, 10));
  const [session0] = s.plane.registry.listSessions();
  s.plane.questions.record({
    id: "q_plants",
    sessionId: session0.id,
    agentGroupId: DEMO_AGENT_ID,
    question: "Basil or mint?",
    options: ["basil", "mint"],
  });
  while (s.plane.questions.get("q_plants").answer === null) await new Promise((r) => setTimeout(r, 10));
  await s.plane.webChat.deliver({
    id: "r-mint",
    platformId: "cli-demo",
    threadId: null,
    content: "mint it is",
    timestamp: new Date().toISOString(),
  } as ChannelMessage);
  await loop;
  assert.deepEqual(io.stdout, [
    "chatting with demo (chat cli-demo); /quit or Ctrl-D to leave",
    "demo> scheduled: water the plants",
    "demo asks: Basil or mint?",
    "  (answer basil | mint)",
    "demo> mint it is",
  ]);
  assert.equal(s.plane.questions.get("q_plants").answer, "mint");
  assert.deepEqual(prompts, ["you> ", "you> ", "answer> ", "you> "]);
});

Deno.test("a chat killed while it waits loses no reply: the reopened chat (piped stdin) shows it", async () => {
  await using s = await serve();
  const chat = (stdin: string) => {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--quiet",
        new URL("./main.ts", import.meta.url).pathname,
        "chat",
        "demo",
        ...s.flags,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    void writer.write(new TextEncoder().encode(stdin));
    return { child, writer };
  };
  // The client's message is in and it long-polls for the reply.
  const waiting = Promise.withResolvers<void>();
  let polls = 0;
  const check = () => void (polls > 0 && s.plane.registry.listSessions().length && waiting.resolve());
  const send = s.plane.webChat.send.bind(s.plane.webChat);
  s.plane.webChat.send = (input) => send(input).finally(check);
  // The reply reaches the client's pending drain, and the client dies (Ctrl-C) before the answer gets to it.
  let dying: Deno.ChildProcess | undefined;
  const drain = s.plane.webChat.drain.bind(s.plane.webChat);
  s.plane.webChat.drain = async (id, options) => {
    if (!options?.waitMs) return drain(id, options);
    polls++;
    check();
    try {
      const items = await drain(id, options);
      if (items.length && dying) {
        dying.kill("SIGINT");
        await dying.output();
        dying = undefined;
      }
      return items;
    } finally {
      polls--;
    }
  };
  const first = chat("hello\n");
  await waiting.promise;
  dying = first.child;
  await s.plane.webChat.deliver({
    id: "r-hello",
    platformId: "cli-demo",
    threadId: null,
    content: "hello back",
    timestamp: new Date().toISOString(),
  } as ChannelMessage);
  await first.child.status;
  s.agentReplies();
  const second = chat("and now?\n");
  await second.writer.close();
  const out = await second.child.output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.deepEqual(new TextDecoder().decode(out.stdout).trim().split("\n"), [
    "chatting with demo (chat cli-demo); /quit or Ctrl-D to leave",
    "demo> hello back",
    "demo> echo: and now?",
  ]);
  // Shown, so acknowledged: gone from the outbox.
  assert.deepEqual(await s.plane.webChat.drain("cli-demo"), []);
});

/** One terminal line as a terminal draws it: CR, save/restore cursor, erase line, printable text. */
class TerminalLine {
  cells: string[] = [];
  cursor = 0;
  #saved = 0;
  feed(text: string): void {
    for (let i = 0; i < text.length; i++) {
      const rest = text.slice(i);
      if (rest.startsWith("\x1b7")) [this.#saved, i] = [this.cursor, i + 1];
      else if (rest.startsWith("\x1b8")) [this.cursor, i] = [this.#saved, i + 1];
      else if (rest.startsWith("\x1b[2K")) [this.cells, i] = [[], i + 3];
      else if (text[i] === "\r") this.cursor = 0;
      else this.cells[this.cursor++] = text[i];
    }
  }
  get text(): string {
    return Array.from(this.cells, (c) => c ?? " ").join("");
  }
}

Deno.test("text typed while the spinner turns stays whole after it: a redraw never moves the cursor", async () => {
  const line = new TerminalLine();
  const writes: string[] = [];
  const decoder = new TextDecoder();
  const stream = {
    isTerminal: () => true,
    writeSync(bytes: Uint8Array) {
      writes.push(decoder.decode(bytes));
      line.feed(writes.at(-1)!);
      return bytes.length;
    },
  };
  const spinner = terminalSpinner(stream, { intervalMs: 2 });
  spinner.start("demo is working…");
  // The terminal echoes each key where the cursor is, between redraws.
  for (const key of "hello there") {
    await new Promise((r) => setTimeout(r, 5));
    line.feed(key);
  }
  assert.ok(writes.length > 5, "it redrew while the person typed");
  assert.match(line.text, /^. demo is working… {4}0s {2}hello there$/);
  for (const redraw of writes.slice(1)) {
    assert.ok(redraw.startsWith("\x1b7\r") && redraw.endsWith("\x1b8"), JSON.stringify(redraw));
    assert.match(redraw.slice(3, -2), /^. demo is working… +\d+s {2}$/);
  }
  assert.equal(new Set(writes.slice(1).map((w) => w.length)).size, 1, "every frame is as wide as the first");
  spinner.stop();
  assert.equal(writes.at(-1), "\r\x1b[2K");
});
