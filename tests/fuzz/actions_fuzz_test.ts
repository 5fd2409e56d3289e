/**
 * Hostile input against the sandbox's two parsers of untrusted text: the
 * system-action envelope (`contract/actions.ts`, which the host reads from
 * the agent) and the tool arguments a model sends (`sandbox-agent/tools/`).
 *
 * Properties:
 * - `parseSystemAction` is total: any string gives `{action, payload?, reason?}`
 *   with the documented shape, never a throw; `systemActionName` agrees with
 *   it; format → parse round-trips; the typed action schemas (`ScheduleRequest`,
 *   `AskUserRequest`, `TaskPayload`, `TaskAction`) answer any payload with
 *   success or a `ZodError`, never a throw.
 * - Every built-in tool, given random arguments (from its own input schema,
 *   spoiled, or any JSON), answers through the registry with an output or an
 *   error text, never a throw; invoked directly, it throws nothing but a
 *   `ToolError`; a system action it returns parses to the tool's own action; and
 *   nothing outside the workspace and memory folders changes, nor is read out
 *   (symlinks leading out, `..`, absolute paths and a prefix-sharing sibling
 *   folder are all in reach).
 *
 * Replay a failure with the seed it prints: `IRONCLAW_FUZZ_SEED=<n> scripts/deno test -A tests/fuzz/actions_fuzz_test.ts`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import fc from "fast-check";
import { z } from "zod";
import {
  AskUserRequest,
  formatSystemAction,
  parseSystemAction,
  ScheduleRequest,
  systemActionName,
  TaskAction,
  TaskPayload,
} from "../../contract/actions.ts";
import type { SessionRouting } from "../../contract/rows.ts";
import {
  BUILTIN_TOOLS,
  builtinRegistry,
  Jail,
  type Tool,
  type ToolContext,
  ToolError,
} from "../../sandbox-agent/tools/mod.ts";
import { DESTINATIONS } from "../../sandbox-agent/testing.ts";
import { anyString, fuzz, hostileJson, hostileString, longString, nestedJsonText } from "./harness.ts";
import { SchemaValues } from "./schema_values.ts";

const REPLAY = "scripts/deno test -A tests/fuzz/actions_fuzz_test.ts";

// ---------------------------------------------------------------------------
// The system-action envelope.

/** Texts that look like envelopes, almost-envelopes, and anything else. */
const envelopeText: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: hostileString(40) },
  { weight: 1, arbitrary: fc.string({ unit: "binary" }) },
  {
    weight: 4,
    arbitrary: fc.record({
      action: fc.oneof(
        anyString(["schedule_task", "ask_user_question", "list_tasks", "persona"]),
        hostileJson(1),
      ),
      payload: hostileJson(3),
      reason: fc.oneof(anyString(), hostileJson(1)),
    }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
  },
  { weight: 2, arbitrary: hostileJson(4).map((v) => JSON.stringify(v) ?? "") },
  {
    weight: 2,
    arbitrary: fc.tuple(hostileJson(3), fc.nat(), fc.constantFrom(" ", "\n", "\uFEFF", "\0", "\u2028", ""))
      .map(
        ([v, cut, pad]) => {
          const text = JSON.stringify({ action: "x", payload: v }) ?? "";
          return pad + text.slice(0, cut % (text.length + 1)) + pad;
        },
      ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      `{"action":"x","payload":${nestedJsonText(100_000, "array")}}`,
      `{"action":"x","__proto__":{"reason":"r"}}`,
      `{"action":"x","action":"y"}`,
      `{"action":"","payload":1}`,
      `{"action":null}`,
      `{"action":"\\ud800"}`,
      `{"action":"\\u0000"}`,
      `{"action":"x","payload":1e999}`,
      `{"action":"x"}trailing`,
      "{",
      "{}",
      "  {  }  ",
      '\uFEFF{"action":"x"}',
    ),
  },
  { weight: 1, arbitrary: longString },
);

function checkEnvelope(text: string, parse = parseSystemAction, name = systemActionName): void {
  let parsed: ReturnType<typeof parseSystemAction>;
  try {
    parsed = parse(text);
  } catch (err) {
    assert.fail(`parseSystemAction threw ${err} on ${JSON.stringify(text.slice(0, 200))}`);
  }
  assert.equal(typeof parsed.action, "string");
  for (const key of Object.keys(parsed)) assert.ok(["action", "payload", "reason"].includes(key), key);
  if (parsed.reason !== undefined) assert.ok(typeof parsed.reason === "string" && parsed.reason !== "");
  // Either the body is an envelope (its non-empty action) or the whole trimmed body is the action name.
  const trimmed = text.trim();
  if (parsed.action !== trimmed) {
    assert.ok(parsed.action !== "", "an envelope's action is never empty");
    assert.ok(trimmed.startsWith("{"), "only a JSON object body yields an envelope");
  } else {
    assert.equal(parsed.payload, undefined);
    assert.equal(parsed.reason, undefined);
  }
  assert.equal(name(text), parsed.action.trim().toLowerCase(), "systemActionName agrees");
  // The typed schemas refuse with a ZodError, never a throw.
  for (const schema of [ScheduleRequest, AskUserRequest, TaskPayload, TaskAction] as z.ZodType[]) {
    for (const input of [parsed, parsed.payload, { ...(parsed.payload as object), action: parsed.action }]) {
      let result: ReturnType<z.ZodType["safeParse"]>;
      try {
        result = schema.safeParse(input);
      } catch (err) {
        assert.fail(`a typed action schema threw ${err}`);
      }
      if (!result.success) assert.ok(result.error instanceof z.ZodError);
    }
  }
}

Deno.test("actions fuzz: the system-action parser is total", async () => {
  await fuzz("system action parse", fc.property(envelopeText, (text) => checkEnvelope(text)), 3000, REPLAY);
});

Deno.test("actions fuzz: format then parse round-trips any envelope", async () => {
  const envelope = fc.record({
    action: hostileString(20).map((a) => a.trim()).filter((a) => a !== ""),
    payload: fc.option(fc.jsonValue({ maxDepth: 3 }), { nil: undefined }),
    reason: fc.option(hostileString(20), { nil: undefined }),
  }, { requiredKeys: ["action"] });
  await fuzz(
    "system action round trip",
    fc.property(envelope, (action) => {
      const text = formatSystemAction(action);
      const back = parseSystemAction(text);
      const expected = {
        action: action.action,
        ...(action.payload !== undefined && action.payload !== null ? { payload: action.payload } : {}),
        ...(action.reason ? { reason: action.reason } : {}),
      };
      // Compared as JSON: -0 and 0 are one number on the wire; lone surrogates come back as written.
      assert.equal(JSON.stringify(back), JSON.stringify(expected), text);
      assert.equal(formatSystemAction(back), text, "formatting is stable");
    }),
    1500,
    REPLAY,
  );
});

// The envelope checks can fail: a parser that throws, loses the action, or disagrees with the name is caught.
Deno.test("actions fuzz: the envelope checks catch a throwing, lossy or inconsistent parser", () => {
  const throwing = (body: string) => body.trim().startsWith("{") ? JSON.parse(body) : { action: body.trim() };
  assert.throws(() => checkEnvelope("{", throwing), /parseSystemAction threw/);
  assert.throws(() => checkEnvelope("typing", () => ({ action: "" })), /envelope's action is never empty/);
  assert.throws(() => checkEnvelope('{"action":"x","reason":""}', () => ({ action: "x", reason: "" })));
  assert.throws(() => checkEnvelope("Typing", parseSystemAction, (b) => b.trim()), /systemActionName agrees/);
  checkEnvelope('{"action":"x","reason":""}');
});

// ---------------------------------------------------------------------------
// The tools, in a jail with ways out in reach.

/** Content of every file outside the jail: it must never show up in what a tool answers. */
const SECRET = `OUTSIDE-SECRET-${crypto.randomUUID()}`;

/**
 * `base/` holds the jail (`jail/ws`, the workspace; `jail/mem`, memory),
 * `outside/`, and a sibling `jail/ws-evil/` whose name shares the
 * workspace's prefix. Symlinks in the workspace and memory lead out, to
 * nothing, and in loops.
 */
function layout(base: string): { ctx: ToolContext; noRouting: ToolContext } {
  const ws = `${base}/jail/ws`;
  const mem = `${base}/jail/mem`;
  for (const dir of [`${ws}/dir`, mem, `${base}/outside/sub`, `${base}/jail/ws-evil`]) {
    Deno.mkdirSync(dir, { recursive: true });
  }
  Deno.writeTextFileSync(`${ws}/notes.txt`, "hello");
  Deno.writeTextFileSync(`${ws}/dir/a.txt`, "a");
  Deno.writeFileSync(`${ws}/binary`, new Uint8Array([0xff, 0xfe, 0]));
  Deno.writeTextFileSync(`${mem}/notes.md`, "remember");
  for (
    const f of ["outside/secret.txt", "outside/sub/secret.txt", "jail/ws-evil/secret.txt", "jail/secret.txt"]
  ) {
    Deno.writeTextFileSync(`${base}/${f}`, SECRET);
  }
  Deno.symlinkSync("../../outside", `${ws}/link`);
  Deno.symlinkSync(`${base}/outside`, `${ws}/abs`);
  Deno.symlinkSync("../../outside/secret.txt", `${ws}/file-link`);
  Deno.symlinkSync("../ws-evil", `${ws}/evil`);
  Deno.symlinkSync("../../nowhere", `${ws}/dangling`);
  Deno.symlinkSync("loop", `${ws}/loop`);
  Deno.symlinkSync(".", `${ws}/self`);
  Deno.symlinkSync("..", `${mem}/up`);
  Deno.symlinkSync("/etc", `${mem}/etc`);
  const routing: SessionRouting = { channelType: "slack", platformId: "C123", threadId: "T1" };
  const context = (r: SessionRouting | undefined): ToolContext => ({
    workspace: new Jail(ws),
    memory: new Jail(mem),
    persona: "be kind",
    destinations: () => DESTINATIONS,
    routing: () => r,
  });
  return { ctx: context(routing), noRouting: context(undefined) };
}

/** Every entry under `base` but inside the workspace and memory: kind, size, mtime, content hash, link target. */
function outsideSnapshot(base: string): string {
  const skip = new Set([`${base}/jail/ws`, `${base}/jail/mem`]);
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of [...Deno.readDirSync(dir)].sort((a, b) => a.name < b.name ? -1 : 1)) {
      const path = `${dir}/${entry.name}`;
      if (skip.has(path)) continue;
      const info = Deno.lstatSync(path);
      let detail = "";
      if (info.isSymlink) detail = `-> ${Deno.readLinkSync(path)}`;
      else if (info.isFile) detail = createHash("sha256").update(Deno.readFileSync(path)).digest("hex");
      out.push(
        `${path} ${
          info.isDirectory ? "d" : info.isSymlink ? "l" : "f"
        } ${info.size} ${info.mtime?.getTime()} ${info.mode} ${detail}`,
      );
      if (info.isDirectory) walk(path);
    }
  };
  walk(base);
  const jail = Deno.lstatSync(`${base}/jail`);
  out.push(
    `ws ${Deno.lstatSync(`${base}/jail/ws`).isDirectory} mem ${
      Deno.lstatSync(`${base}/jail/mem`).isDirectory
    } ${jail.mtime?.getTime()}`,
  );
  return out.join("\n");
}

const PATHS = [
  "notes.txt",
  "dir/a.txt",
  "dir",
  "",
  ".",
  "./dir/../notes.txt",
  "new/deep/file.txt",
  "binary",
  "link",
  "link/secret.txt",
  "link/new.txt",
  "abs/secret.txt",
  "abs/sub/new.txt",
  "file-link",
  "evil/secret.txt",
  "evil/new.txt",
  "dangling",
  "dangling/new.txt",
  "loop",
  "loop/new.txt",
  "self/notes.txt",
  "self/self/new.txt",
  "up/secret.txt",
  "up/ws-evil/new.txt",
  "up/ws/notes.txt",
  "etc/passwd",
  "etc/new.txt",
  "../ws-evil/secret.txt",
  "../../outside/secret.txt",
  "..",
  "/etc/passwd",
  "C:/x",
  "\\..\\x",
  "notes.txt/x",
  "a".repeat(300),
  `${"d/".repeat(200)}x`,
];

const TOOL_VALUES = new SchemaValues({
  hints: {
    path: PATHS,
    content: ["hello", "", "x".repeat(100)],
    to: ["", "current", "here", "team", "TEAM", "Researcher", "broken", "nobody"],
    text: ["hi", ""],
    caption: ["see this", " "],
    prompt: ["water the plants", " "],
    run_at: ["", "2026-06-16T09:00:00Z", "2026-06-16T09:00:00+02:00", "tomorrow", "2026-13-40T99:00:00Z"],
    recurrence: ["", "daily", "15m", "-5m", "0m", "hourly"],
    task_id: ["t1", "task_abc"],
    question: ["Proceed?", " "],
    options: ["yes", "no", " "],
    hosts: ["api.github.com", "https://api.example.com/v1?x", "*.evil.com", "a..b", "", "HTTP://X.COM"],
    reason: ["needed", ""],
    name: ["Helper", "my agent", "-bad"],
    folder: ["helper", "../x"],
    server: ["github", "Bad Name"],
    tools: ["read_file", "tool"],
    add: ["list_dir", "write_file"],
    apt: ["ripgrep"],
    npm: ["left-pad"],
    source: ["/srv/data", "relative", "/a/../etc"],
    target: ["/data"],
    egress: ["api.example.com"],
    soul: ["calm"],
    identity: ["helper"],
    instructions: ["be brief"],
    userId: ["slack:alice"],
    addMembers: ["slack:alice"],
    messagingGroupId: ["mg_1"],
    transport: ["http", "stdio"],
    url: ["https://mcp.example.com"],
    command: ["mcp-server"],
  },
  generic: ["x", "read_file", "slack:alice", "notes.txt", "daily"],
  payloads: Object.fromEntries(
    Object.entries((await import("../../contract/changes.ts")).CHANGE_PAYLOADS).map(([k, s]) => [
      k,
      z.toJSONSchema(s as z.ZodType, { io: "input", unrepresentable: "any" }),
    ]),
  ),
  payloadField: "payload",
});

/** Tool arguments: from the tool's own schema (valid, spoiled, hostile), or any JSON at all. */
function argsFor(tool: Tool): fc.Arbitrary<unknown> {
  const schema = z.toJSONSchema(tool.input, { io: "input", unrepresentable: "any" });
  return fc.oneof(
    { weight: 12, arbitrary: TOOL_VALUES.values(schema, schema) },
    { weight: 1, arbitrary: hostileJson(3) },
    // A string payload that may or may not be JSON (request_capability_change parses it).
    {
      weight: 1,
      arbitrary: fc.tuple(TOOL_VALUES.values(schema, schema), hostileJson(2)).map(([args, payload]) =>
        args && typeof args === "object" && !Array.isArray(args)
          ? { ...args, payload: JSON.stringify(payload) ?? "{" }
          : args
      ),
    },
  );
}

/** The action name a tool's system action must carry. */
function expectedAction(tool: string, input: Record<string, unknown>): string {
  if (tool === "request_capability_change") return String(input.kind);
  if (tool === "request_api_access") return "wiring";
  return tool;
}

const registry = builtinRegistry();

/** `IRONCLAW_FUZZ_VERBOSE=1` prints how each tool answered. */
const VERBOSE = Deno.env.get("IRONCLAW_FUZZ_VERBOSE") === "1";
const outcomes = new Map<string, number>();

/** One call: the properties of the module docs. */
async function checkCall(
  base: string,
  ctx: ToolContext,
  tool: Tool,
  input: unknown,
  call = (name: string, args: unknown, c: ToolContext) => registry.call(name, args, c),
): Promise<void> {
  const before = outsideSnapshot(base);
  const shown = JSON.stringify(input)?.slice(0, 300);
  let result: Awaited<ReturnType<typeof registry.call>>;
  try {
    result = await call(tool.name, input, ctx);
  } catch (err) {
    assert.fail(`${tool.name} threw out of the registry: ${err} on ${shown}`);
  }
  if (VERBOSE) {
    const key = result.ok ? "ok" : result.error.replace(/\s+/g, " ").slice(0, 140);
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  }
  if (result.ok) {
    const { text, action, message } = result.output;
    assert.equal(typeof text, "string");
    for (const said of [text, action ?? "", message?.content ?? ""]) {
      assert.ok(!said.includes(SECRET), `${tool.name} read a file outside the jail on ${shown}`);
    }
    if (action !== undefined) {
      const envelope = JSON.parse(action);
      assert.equal(envelope.action, expectedAction(tool.name, input as Record<string, unknown>), action);
      assert.equal(systemActionName(action), envelope.action.toLowerCase());
    }
    if (tool.name === "list_dir") {
      assert.ok(!text.includes("secret.txt"), `list_dir listed a folder outside the jail on ${shown}`);
    }
  } else {
    assert.equal(typeof result.error, "string");
    assert.ok(result.error.length > 0, "an empty error");
    assert.ok(!result.error.includes(SECRET), `${tool.name} leaked a file outside the jail in an error`);
    assert.ok(
      !result.error.startsWith(`${tool.name} failed: `),
      `${tool.name} failed with an untyped error (not a ToolError): ${
        result.error.slice(0, 300)
      } on ${shown}`,
    );
  }
  assert.equal(outsideSnapshot(base), before, `${tool.name} changed something outside the jail on ${shown}`);
}

Deno.test({
  name: "actions fuzz: every tool answers random arguments with an output or a typed error, inside its jail",
  fn: async (t) => {
    const base = Deno.makeTempDirSync({ prefix: "ironclaw-fuzz-tools-" });
    try {
      const { ctx, noRouting } = layout(base);
      assert.ok(BUILTIN_TOOLS.length >= 10);
      for (const tool of BUILTIN_TOOLS) {
        await t.step(tool.name, async () => {
          await fuzz(
            `tool ${tool.name}`,
            fc.asyncProperty(
              argsFor(tool),
              fc.boolean(),
              (input, routed) => checkCall(base, routed ? ctx : noRouting, tool, input),
            ),
            RUNS_PER_TOOL,
            REPLAY,
          );
          if (VERBOSE) {
            const top = [...outcomes].sort((a, b) => b[1] - a[1]).slice(0, 6);
            console.log(`${tool.name}: ${top.map(([k, n]) => `${n}× ${k}`).join(" | ")}`);
            outcomes.clear();
          }
        });
      }
      await t.step("unknown tools and non-object arguments", async () => {
        await fuzz(
          "tool registry",
          fc.asyncProperty(
            anyString(["read_file", "Read_File", "shell", "__proto__"]),
            hostileJson(3),
            async (name, input) => {
              const result = await registry.call(name, input, ctx);
              if (!registry.names.includes(name)) {
                assert.deepEqual(result, { ok: false, error: `unknown tool: ${name}` });
              }
            },
          ),
          500,
          REPLAY,
        );
      });
    } finally {
      Deno.removeSync(base, { recursive: true });
    }
  },
});

/** Calls per tool (`IRONCLAW_FUZZ_RUNS` overrides). */
const RUNS_PER_TOOL = 150;

// The tool checks can fail: a throwing runner, an untyped error, a write or a read outside the jail are caught.
Deno.test("actions fuzz: the tool checks catch throws, untyped errors and jail escapes", async () => {
  const base = Deno.makeTempDirSync({ prefix: "ironclaw-fuzz-tools-" });
  try {
    const { ctx } = layout(base);
    const tool = BUILTIN_TOOLS.find((t) => t.name === "read_file")!;
    const input = { path: "notes.txt" };
    await assert.rejects(
      checkCall(base, ctx, tool, input, () => Promise.reject(new Error("boom"))),
      /threw out/,
    );
    await assert.rejects(
      checkCall(base, ctx, tool, input, () => Promise.resolve({ ok: false, error: "read_file failed: EIO" })),
      /untyped error/,
    );
    await assert.rejects(
      checkCall(base, ctx, tool, input, () => {
        Deno.writeTextFileSync(`${base}/outside/escaped.txt`, "x");
        return Promise.resolve({ ok: true, output: { text: "wrote" } });
      }),
      /changed something outside/,
    );
    await assert.rejects(
      checkCall(
        base,
        ctx,
        tool,
        input,
        () =>
          Promise.resolve({
            ok: true,
            output: { text: Deno.readTextFileSync(`${base}/outside/secret.txt`) },
          }),
      ),
      /outside the jail/,
    );
    await assert.rejects(
      checkCall(
        base,
        ctx,
        BUILTIN_TOOLS.find((t) => t.name === "schedule_task")!,
        { prompt: "x" },
        () => Promise.resolve({ ok: true, output: { text: "ok", action: '{"action":"cancel_task"}' } }),
      ),
      /cancel_task/,
    );
    await checkCall(base, ctx, tool, input);
    assert.ok(ToolError);
  } finally {
    Deno.removeSync(base, { recursive: true });
  }
});
