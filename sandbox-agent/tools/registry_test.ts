import assert from "node:assert/strict";
import { z } from "zod";
import { BUILTIN_TOOLS, builtinRegistry } from "./builtin.ts";
import { FORBIDDEN_TOOL_NAMES, MANDATORY_TOOLS } from "../../contract/tools.ts";
import { ToolRegistry } from "./registry.ts";
import { defineTool, type ToolContext, ToolError } from "./tool.ts";

const noContext = {} as ToolContext;

function tool(name: string) {
  return defineTool({
    name,
    description: `the ${name} tool`,
    input: z.strictObject({ n: z.number().int() }),
    invoke({ n }) {
      if (n < 0) throw new ToolError("n must not be negative");
      if (n === 0) throw new Error("boom");
      return { text: `${name}:${n}` };
    },
  });
}

Deno.test("the compiled tool set is stable", () => {
  assert.deepEqual(builtinRegistry().names, [
    "ask_user_question",
    "cancel_task",
    "create_agent",
    "http_fetch",
    "list_destinations",
    "list_dir",
    "list_tasks",
    "pause_task",
    "read_file",
    "read_persona",
    "request_api_access",
    "request_capability_change",
    "resume_task",
    "schedule_task",
    "send_file",
    "send_message",
    "update_task",
    "web_search",
    "write_file",
  ]);
});

Deno.test("refuses forbidden, duplicate, malformed and non-object tools", () => {
  for (const name of FORBIDDEN_TOOL_NAMES) assert.throws(() => new ToolRegistry([tool(name)]), /forbidden/);
  assert.throws(() => new ToolRegistry([tool("a"), tool("a")]), /already registered/);
  assert.throws(() => new ToolRegistry([tool("Install_Packages")]), /lower_snake_case/);
  assert.throws(
    () =>
      new ToolRegistry([
        defineTool({ name: "s", description: "", input: z.string(), invoke: () => ({ text: "" }) }),
      ]),
    /must take an object/,
  );
});

Deno.test("the enabled-tools filter keeps listed and mandatory tools, ignores unknown names", () => {
  const all = builtinRegistry();
  assert.equal(all.filter([]), all);
  assert.deepEqual(
    builtinRegistry(["read_file", "no_such_tool"]).names,
    [...MANDATORY_TOOLS, "read_file"].sort(),
  );
});

Deno.test("specs: sorted, object schemas from zod, no $schema key", () => {
  const specs = new ToolRegistry(BUILTIN_TOOLS).specs();
  assert.deepEqual(specs.map((s) => s.name), builtinRegistry().names);
  for (const spec of specs) {
    assert.equal(spec.input_schema.type, "object", spec.name);
    assert.equal("$schema" in spec.input_schema, false);
    assert.ok(spec.description.length > 0);
  }
  const readFile = specs.find((s) => s.name === "read_file")!;
  assert.deepEqual(readFile.input_schema.required, ["path"]);
  assert.equal(readFile.input_schema.additionalProperties, false);
});

Deno.test("with: an answer's registry reuses each tool's spec; with nothing added it is the same registry", () => {
  const builtins = builtinRegistry();
  assert.equal(builtins.with([]), builtins);
  const extra = tool("extra");
  const answer = builtins.with([extra]);
  const next = builtins.with([tool("extra")]);
  const readFile = (r: ToolRegistry) => r.specs().find((s) => s.name === "read_file");
  assert.equal(readFile(answer), readFile(builtins), "the built-in's spec is not converted again");
  assert.equal(readFile(next), readFile(builtins));
  assert.deepEqual(answer.names, [...builtins.names, "extra"].sort());
  assert.deepEqual(
    next.specs().find((s) => s.name === "extra"),
    answer.specs().find((s) => s.name === "extra"),
  );
});

Deno.test("call: every failure is text for the model", async () => {
  const registry = new ToolRegistry([tool("count")]);
  assert.deepEqual(await registry.call("count", { n: 2 }, noContext), {
    ok: true,
    output: { text: "count:2" },
  });
  assert.deepEqual(await registry.call("nope", {}, noContext), { ok: false, error: "unknown tool: nope" });
  assert.deepEqual(await registry.call("count", { n: -1 }, noContext), {
    ok: false,
    error: "n must not be negative",
  });
  assert.deepEqual(await registry.call("count", { n: 0 }, noContext), {
    ok: false,
    error: "count failed: boom",
  });
  const invalid = await registry.call("count", { n: "x", extra: 1 }, noContext);
  assert.equal(invalid.ok, false);
  assert.match(!invalid.ok ? invalid.error : "", /^invalid input for count:[\s\S]*n/);
});
