import assert from "node:assert/strict";
import type { SessionRouting } from "../../contract/rows.ts";
import { DESTINATIONS, tempDir } from "../testing.ts";
import { builtinRegistry } from "./builtin.ts";
import { Jail } from "./jail.ts";
import { Mounts } from "./mounts.ts";
import type { ToolCallResult } from "./registry.ts";
import type { ToolContext, ToolOutput } from "./tool.ts";
import { untrustedOutput } from "./untrusted.ts";

function context(dir: string, routing?: SessionRouting, persona = ""): ToolContext {
  Deno.mkdirSync(`${dir}/ws`, { recursive: true });
  Deno.mkdirSync(`${dir}/mem`, { recursive: true });
  return {
    workspace: new Jail(`${dir}/ws`, { seenAs: "/workspace" }),
    memory: new Jail(`${dir}/mem`, { seenAs: "/memory" }),
    persona,
    destinations: () => DESTINATIONS,
    routing: () => routing,
  };
}

const registry = builtinRegistry();

async function ok(ctx: ToolContext, name: string, input: unknown): Promise<ToolOutput> {
  const result = await registry.call(name, input, ctx);
  if (!result.ok) assert.fail(`${name} failed: ${result.error}`);
  return result.output;
}

async function fails(ctx: ToolContext, name: string, input: unknown, pattern: RegExp): Promise<void> {
  const result: ToolCallResult = await registry.call(name, input, ctx);
  assert.equal(result.ok, false, `${name} should fail`);
  assert.match(!result.ok ? result.error : "", pattern);
}

const ROUTING: SessionRouting = { channelType: "slack", platformId: "C123", threadId: "T1" };

Deno.test("file tools work in the workspace and, on request, in memory", async () => {
  using dir = tempDir();
  const ctx = context(dir.path);
  assert.equal(
    (await ok(ctx, "write_file", { path: "a/b.txt", content: "hi" })).text,
    "wrote 2 bytes to a/b.txt",
  );
  assert.equal((await ok(ctx, "read_file", { path: "a/b.txt" })).text, "hi");
  assert.equal((await ok(ctx, "list_dir", {})).text, '[{"name":"a","is_dir":true}]');
  await ok(ctx, "write_file", { path: "notes.md", content: "keep", area: "memory" });
  assert.equal(Deno.readTextFileSync(`${dir.path}/mem/notes.md`), "keep");
  await fails(ctx, "read_file", { path: "notes.md" }, /no such file/);
  await fails(ctx, "read_file", { path: "/etc/passwd" }, /absolute paths/);
  await fails(ctx, "write_file", { path: "../x", content: "" }, /'\.\.'/);
  Deno.writeFileSync(`${dir.path}/ws/bin`, new Uint8Array([0xff, 0xfe]));
  await fails(ctx, "read_file", { path: "bin" }, /not UTF-8/);
});

Deno.test("file tools take /workspace/… and /memory/… as the jailed paths they are, and nothing else absolute", async () => {
  using dir = tempDir();
  const ctx = context(dir.path);
  Deno.writeTextFileSync(`${dir.path}/ws/x.txt`, "announced as /workspace/x.txt");
  assert.equal(
    (await ok(ctx, "read_file", { path: "/workspace/x.txt" })).text,
    "announced as /workspace/x.txt",
  );
  // The folder's real root names it too (the process backend announces host paths).
  assert.equal(
    (await ok(ctx, "read_file", { path: `${dir.path}/ws/x.txt` })).text,
    "announced as /workspace/x.txt",
  );
  assert.equal((await ok(ctx, "list_dir", { path: "/workspace" })).text, '[{"name":"x.txt","is_dir":false}]');
  await ok(ctx, "write_file", { path: "/memory/notes.md", content: "kept" });
  assert.equal(Deno.readTextFileSync(`${dir.path}/mem/notes.md`), "kept");
  assert.equal((await ok(ctx, "read_file", { path: "/memory//notes.md", area: "workspace" })).text, "kept");
  await fails(ctx, "read_file", { path: "/workspace/../etc/passwd" }, /'\.\.' is not allowed/);
  await fails(ctx, "read_file", { path: "/memory/../../etc/passwd" }, /'\.\.' is not allowed/);
  await fails(ctx, "read_file", { path: "/etc/passwd" }, /absolute paths outside/);
  await fails(ctx, "read_file", { path: "/workspacex/x.txt" }, /absolute paths outside/);
  await fails(ctx, "write_file", { path: "/tmp/x", content: "" }, /absolute paths outside/);
  assert.deepEqual([...Deno.readDirSync(dir.path)].map((e) => e.name).sort(), ["mem", "ws"]);
});

Deno.test("send_message: the current conversation, named channels and agents; unknown names list the known", async () => {
  using dir = tempDir();
  const ctx = context(dir.path, ROUTING);
  for (const to of [undefined, "", "current", "HERE", "thread", "current_thread", "this"]) {
    const out = await ok(ctx, "send_message", { text: "hello", ...(to === undefined ? {} : { to }) });
    assert.deepEqual(out.message, {
      content: "hello",
      channelType: "slack",
      platformId: "C123",
      threadId: "T1",
    });
  }
  assert.deepEqual((await ok(ctx, "send_message", { text: "x", to: "TEAM" })).message, {
    content: "x",
    channelType: "slack",
    platformId: "C9",
    threadId: null,
  });
  assert.deepEqual((await ok(ctx, "send_message", { text: "x", to: "researcher" })).message, {
    content: "x",
    channelType: "agent",
    platformId: "research",
    threadId: null,
  });
  await fails(
    ctx,
    "send_message",
    { text: "x", to: "nobody" },
    /unknown destination "nobody"; known destinations: Researcher, broken, team/,
  );
  await fails(ctx, "send_message", { text: "x", to: "broken" }, /incomplete/);
  await fails(context(dir.path), "send_message", { text: "x" }, /no channel yet/);
});

Deno.test("send_file: header, caption, UTF-8 only; list_destinations sorted", async () => {
  using dir = tempDir();
  const ctx = context(dir.path, ROUTING);
  Deno.writeTextFileSync(`${dir.path}/ws/r.txt`, "report body");
  const out = await ok(ctx, "send_file", { path: "r.txt", caption: " weekly " });
  assert.equal(out.message?.content, "[file: r.txt]\nweekly\n\nreport body");
  assert.equal(
    (await ok(ctx, "send_file", { path: "r.txt" })).message?.content,
    "[file: r.txt]\n\nreport body",
  );
  Deno.writeFileSync(`${dir.path}/ws/bin`, new Uint8Array([0xc3]));
  await fails(ctx, "send_file", { path: "bin" }, /not UTF-8/);
  assert.deepEqual(JSON.parse((await ok(ctx, "list_destinations", {})).text), [
    { name: "Researcher", type: "agent", channel: "agent" },
    { name: "broken", type: "channel", channel: "slack" },
    { name: "team", display_name: "Team room", type: "channel", channel: "slack" },
  ]);
});

Deno.test("schedule_task and task management: exact wire bytes, validated", async () => {
  using dir = tempDir();
  const ctx = context(dir.path);
  const action = async (name: string, input: unknown) => (await ok(ctx, name, input)).action;
  assert.equal(
    await action("schedule_task", {
      prompt: "summarize my inbox",
      run_at: "2026-06-16T09:00:00Z",
      recurrence: "daily",
    }),
    '{"action":"schedule_task","prompt":"summarize my inbox","run_at":"2026-06-16T09:00:00Z","recurrence":"daily"}',
  );
  assert.equal(
    await action("schedule_task", { prompt: "now please" }),
    '{"action":"schedule_task","prompt":"now please","run_at":""}',
  );
  await fails(ctx, "schedule_task", { prompt: "  " }, /prompt must not be empty/);
  await fails(ctx, "schedule_task", { prompt: "x", run_at: "tomorrow" }, /RFC 3339/);
  await fails(ctx, "schedule_task", { prompt: "x", recurrence: "fortnightly" }, /recurrence/);

  assert.equal(await action("list_tasks", {}), '{"action":"list_tasks"}');
  assert.equal(
    await action("cancel_task", { task_id: "t1" }),
    '{"action":"cancel_task","payload":{"task_id":"t1"}}',
  );
  assert.equal(
    await action("pause_task", { task_id: "t1" }),
    '{"action":"pause_task","payload":{"task_id":"t1"}}',
  );
  assert.equal(
    await action("resume_task", { task_id: "t1" }),
    '{"action":"resume_task","payload":{"task_id":"t1"}}',
  );
  assert.equal(
    await action("update_task", {
      recurrence: "2h",
      run_at: "2026-06-16T09:00:00+02:00",
      prompt: "p",
      task_id: "t1",
    }),
    '{"action":"update_task","payload":{"task_id":"t1","prompt":"p","run_at":"2026-06-16T09:00:00+02:00","recurrence":"2h"}}',
  );
  await fails(ctx, "update_task", { task_id: "t1" }, /at least one change/);
  await fails(ctx, "update_task", { task_id: "t1", run_at: "soon" }, /RFC 3339/);
  await fails(ctx, "cancel_task", { task_id: "" }, /invalid input/);
});

Deno.test("request_capability_change: every kind but create_agent and packages, payload validated before it leaves", async () => {
  using dir = tempDir();
  const ctx = context(dir.path);
  const cases: [string, unknown][] = [
    ["persona", { instructions: "be terse" }],
    ["enabled_tools", ["list_dir", "read_file"]],
    ["wiring", { engage: "mention", pattern: "^hey" }],
    ["permissions", { addMembers: ["slack:alice"] }],
    ["mounts", [{ source: "/srv/data" }]],
    ["mcp_access", { server: "github", tools: ["search"] }],
    ["mcp_register", { name: "files", transport: "stdio", command: "mcp-files" }],
  ];
  for (const [kind, payload] of cases) {
    const out = await ok(ctx, "request_capability_change", { kind, payload, reason: "needed" });
    assert.equal(out.action, JSON.stringify({ action: kind, payload, reason: "needed" }), kind);
    assert.match(out.text, /human approval/);
  }
  assert.equal(
    (await ok(ctx, "request_capability_change", {
      kind: "persona",
      payload: { persona: "helpful" },
      reason: "tone tweak",
    }))
      .action,
    '{"action":"persona","payload":{"persona":"helpful"},"reason":"tone tweak"}',
  );
  assert.equal(
    (await ok(ctx, "request_capability_change", { kind: "enabled_tools", payload: '{"add":["list_dir"]}' }))
      .action,
    '{"action":"enabled_tools","payload":{"add":["list_dir"]}}',
  );
  await fails(
    ctx,
    "request_capability_change",
    { kind: "create_agent", payload: { name: "x" } },
    /invalid input/,
  );
  await fails(ctx, "request_capability_change", { kind: "shell", payload: {} }, /invalid input/);
  await fails(
    ctx,
    "request_capability_change",
    { kind: "packages", payload: { apt: ["ripgrep"] } },
    /invalid input/,
  );
  await fails(
    ctx,
    "request_capability_change",
    { kind: "wiring", payload: { egress: ["*.evil"] } },
    /bare hostnames/,
  );
  await fails(ctx, "request_capability_change", { kind: "persona", payload: "{oops" }, /not JSON/);
});

Deno.test("request_api_access: hosts normalised into a wiring egress change", async () => {
  using dir = tempDir();
  const ctx = context(dir.path);
  const out = await ok(ctx, "request_api_access", {
    hosts: [
      "https://API.GitHub.com/repos?x=1",
      " api.github.com ",
      "",
      "http://example.org#frag",
      "api.slack.com/",
    ],
    reason: "sync issues",
  });
  assert.equal(
    out.action,
    '{"action":"wiring","payload":{"egress":["api.github.com","example.org","api.slack.com"]},"reason":"sync issues"}',
  );
  await fails(ctx, "request_api_access", { hosts: ["*.github.com"] }, /not a host name/);
  await fails(ctx, "request_api_access", { hosts: ["api github.com"] }, /not a host name/);
  await fails(ctx, "request_api_access", { hosts: ["a..b"] }, /not a host name/);
  await fails(ctx, "request_api_access", { hosts: ["  ", "https://"] }, /at least one host/);
  await fails(ctx, "request_api_access", { hosts: ["api.github.com:8443"] }, /bare hostnames/);
  await fails(ctx, "request_api_access", { hosts: [] }, /invalid input/);
});

Deno.test("ask_user_question, create_agent and read_persona", async () => {
  using dir = tempDir();
  const ctx = context(dir.path, undefined, "Be a pirate.");
  assert.equal(
    (await ok(ctx, "ask_user_question", { question: "Proceed?" })).action,
    '{"action":"ask_user_question","question":"Proceed?"}',
  );
  assert.equal(
    (await ok(ctx, "ask_user_question", {
      question: "Which?",
      options: ["a", " ", " b "],
      allow_freeform: true,
    })).action,
    '{"action":"ask_user_question","question":"Which?","options":["a","b"],"allow_freeform":true}',
  );
  await fails(ctx, "ask_user_question", { question: " " }, /question must not be empty/);

  assert.equal(
    (await ok(ctx, "create_agent", {
      name: "Research Bot",
      folder: "research-bot",
      enabled_tools: ["read_file"],
      reason: "papers",
    }))
      .action,
    '{"action":"create_agent","payload":{"name":"Research Bot","folder":"research-bot","enabled_tools":["read_file"]},"reason":"papers"}',
  );
  await fails(ctx, "create_agent", { name: "../etc" }, /invalid input/);
  await fails(ctx, "create_agent", { name: "ok", folder: "a/b" }, /invalid input/);

  assert.equal((await ok(ctx, "read_persona", {})).text, "Be a pirate.");
  assert.match((await ok(context(dir.path), "read_persona", {})).text, /no persona/);
});

Deno.test("http_fetch and web_search send JSON to the broker and return its text; refusals read as errors", async () => {
  using dir = tempDir();
  const calls: { url: string; body: unknown }[] = [];
  const broker = (input: RequestInfo | URL, init?: RequestInit) =>
    Promise.resolve(answer(String(input), init));
  const answer = (input: string, init?: RequestInit) => {
    const url = input;
    const body = JSON.parse(String(init?.body));
    calls.push({ url, body });
    if (url.endsWith("/v1/search")) {
      return Response.json({
        backend: "searxng",
        results: [{ title: "Deno", url: "https://deno.com/", snippet: "A runtime." }],
      });
    }
    if (body.url.includes("denied")) {
      return Response.json({ error: "egress: denied.test is not approved for this agent" }, { status: 403 });
    }
    return Response.json({
      status: 200,
      contentType: "text/html",
      url: body.url,
      text: "# Title\n\nBody",
      truncated: true,
    });
  };
  const ctx = { ...context(dir.path), egress: broker as typeof fetch };
  const page = await ok(ctx, "http_fetch", { url: "https://example.com/" });
  assert.equal(
    page.text,
    "status: 200\ncontent-type: text/html\nurl: https://example.com/\n\n" +
      untrustedOutput("the web page https://example.com/", "# Title\n\nBody") +
      "\n\n(truncated: the body was longer than the broker's cap)",
  );
  assert.deepEqual(calls[0], {
    url: "http://egress.ironclaw.internal/v1/fetch",
    body: { url: "https://example.com/", method: "GET" },
  });
  await fails(ctx, "http_fetch", { url: "https://denied.test/" }, /denied\.test is not approved/);
  const found = await ok(ctx, "web_search", { query: "deno" });
  assert.equal(
    found.text,
    'results for "deno" (searxng):\n\n' +
      untrustedOutput("the search backend searxng", "1. Deno\n   https://deno.com/\n   A runtime."),
  );
  assert.match(
    found.text,
    /^results for "deno" \(searxng\):\n\nThe text below is the output of .*untrusted data/,
  );
  assert.deepEqual(calls.at(-1)!.body, { query: "deno", max_results: 5 });
  await fails(context(dir.path), "http_fetch", { url: "https://example.com/" }, /no egress broker/);
});

Deno.test("file tools reach approved mounts at /mounts/<name>/…, list them at /mounts, and refuse writes to a read-only one", async () => {
  using dir = tempDir();
  const ctx = context(dir.path);
  for (const d of ["mounts/docs/sub", "mounts/scratch", "outside"]) {
    Deno.mkdirSync(`${dir.path}/${d}`, { recursive: true });
  }
  Deno.writeTextFileSync(`${dir.path}/mounts/docs/a.txt`, "shared notes");
  Deno.writeTextFileSync(`${dir.path}/outside/secret.txt`, "not yours");
  Deno.symlinkSync(`${dir.path}/outside/secret.txt`, `${dir.path}/mounts/docs/leak`);
  ctx.mounts = new Mounts(`${dir.path}/mounts`, [
    { name: "docs", readonly: true },
    { name: "scratch", readonly: false },
  ]);
  assert.equal((await ok(ctx, "read_file", { path: "/mounts/docs/a.txt" })).text, "shared notes");
  assert.equal(
    (await ok(ctx, "list_dir", { path: "/mounts" })).text,
    '[{"name":"docs","is_dir":true},{"name":"scratch","is_dir":true}]',
  );
  assert.equal(
    (await ok(ctx, "list_dir", { path: "/mounts/docs" })).text,
    '[{"name":"a.txt","is_dir":false},{"name":"leak","is_dir":false},{"name":"sub","is_dir":true}]',
  );
  await fails(
    ctx,
    "write_file",
    { path: "/mounts/docs/a.txt", content: "x" },
    /\/mounts\/docs is a read-only mount/,
  );
  await fails(ctx, "write_file", { path: "/mounts/docs/new.txt", content: "x" }, /read-only mount/);
  assert.equal(Deno.readTextFileSync(`${dir.path}/mounts/docs/a.txt`), "shared notes");
  await ok(ctx, "write_file", { path: "/mounts/scratch/out/b.txt", content: "made here" });
  assert.equal(Deno.readTextFileSync(`${dir.path}/mounts/scratch/out/b.txt`), "made here");
  // The same jail as the workspace's: no '..', no symlink out, no other mount name, not /mounts itself.
  await fails(ctx, "read_file", { path: "/mounts/docs/../scratch/out/b.txt" }, /'\.\.'/);
  await fails(ctx, "read_file", { path: "/mounts/docs/leak" }, /leads outside the folder/);
  await fails(
    ctx,
    "read_file",
    { path: "/mounts/other/a.txt" },
    /no mount named other: mounted are docs, scratch/,
  );
  await fails(ctx, "read_file", { path: "/mounts" }, /name one/);
  await fails(ctx, "write_file", { path: "/mounts/x.txt", content: "" }, /no mount named x\.txt/);
});

Deno.test("without mounts, /mounts is empty and its paths say nothing is mounted", async () => {
  using dir = tempDir();
  const ctx = context(dir.path);
  assert.equal((await ok(ctx, "list_dir", { path: "/mounts" })).text, "[]");
  await fails(ctx, "read_file", { path: "/mounts/docs/a.txt" }, /nothing is mounted/);
});
