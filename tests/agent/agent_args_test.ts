/**
 * The host builds the agent's argv and the agent parses it: checked here, where a test may see both
 * sides (src/ itself never imports sandbox-agent/).
 */
import assert from "node:assert/strict";
import { MANDATORY_TOOLS } from "../../contract/tools.ts";
import { parseArgs } from "../../sandbox-agent/config.ts";
import type { LaunchSpec } from "../../src/registry/mod.ts";
import { agentArgs, LaunchSpecError } from "../../src/sandbox/mod.ts";

const LAYOUT = "--layout=" + JSON.stringify({
  inboundDir: "/in",
  outboundDir: "/out",
  keyFile: "/key",
  workspace: "/w",
  memory: "/m",
  socketDir: "/s",
  library: "/lib.so",
});

function spec(over: Partial<LaunchSpec> = {}): LaunchSpec {
  return {
    agentGroupId: "g1" as LaunchSpec["agentGroupId"],
    name: "G1",
    folder: "g1",
    provider: null,
    model: null,
    personaDocs: {} as LaunchSpec["personaDocs"],
    persona: "",
    enabledTools: null,
    packages: { apt: [], npm: [] } as unknown as LaunchSpec["packages"],
    mounts: [],
    mcpGrants: [],
    memoryPartition: "group",
    ...over,
  };
}

/** What the agent program makes of the flags (its own parser). */
const parsed = (args: string[]) => parseArgs([LAYOUT, ...args]);

Deno.test("a group with no provider gets the default; every tool is allowed as no flag", () => {
  const args = agentArgs(spec(), { defaultProvider: "mock", pollMs: 250 });
  assert.deepEqual(args, ["--provider=mock", "--poll-ms=250"]);
  const config = parsed(args);
  assert.equal(config.provider, "mock");
  assert.equal(config.model, undefined);
  assert.deepEqual(config.enabledTools, []);
  assert.equal(config.pollMs, 250);
});

Deno.test("provider, model, a multi-line persona and the tool allowlist reach the agent intact", () => {
  const persona = "## Identity\nA careful helper.\n\n## Soul\nDry wit = fine, --flags too.";
  const config = parsed(agentArgs(
    spec({ provider: "openai", model: "gpt-x", persona, enabledTools: ["read_file", "send_message"] }),
    { defaultProvider: "mock" },
  ));
  assert.equal(config.provider, "openai");
  assert.equal(config.model, "gpt-x");
  assert.equal(config.persona, persona);
  assert.deepEqual(
    config.enabledTools.toSorted(),
    ["read_file", "send_message", ...MANDATORY_TOOLS].toSorted(),
  );
});

Deno.test("an empty allowlist stays the mandatory tools, never the agent's 'every tool'", () => {
  const config = parsed(agentArgs(spec({ enabledTools: [] }), { defaultProvider: "mock" }));
  assert.deepEqual(config.enabledTools.toSorted(), [...MANDATORY_TOOLS].toSorted());
});

Deno.test("a model without the group's own provider is not sent to the default one", () => {
  const config = parsed(agentArgs(spec({ model: "claude-x" }), { defaultProvider: "mock" }));
  assert.equal(config.provider, "mock");
  assert.equal(config.model, undefined);
});

Deno.test("a provider the agent does not know fails before anything launches", () => {
  assert.throws(
    () => agentArgs(spec({ provider: "bedrock" }), { defaultProvider: "mock" }),
    (err) => err instanceof LaunchSpecError && /bedrock/.test(err.message),
  );
});

Deno.test("a group's mounts reach the agent as names and modes; a layout without a mounts root refuses them", () => {
  const mounts = [
    { name: "docs", source: "/srv/docs", readonly: true },
    { name: "out.v2", source: "/srv/out", readonly: false },
  ];
  const args = agentArgs(spec({ mounts }), { defaultProvider: "mock" });
  assert.ok(args.includes("--mounts=docs:ro,out.v2:rw"));
  const withRoot = JSON.stringify({ ...JSON.parse(LAYOUT.slice("--layout=".length)), mounts: "/mounts" });
  assert.deepEqual(parseArgs([`--layout=${withRoot}`, ...args]).mounts, [
    { name: "docs", readonly: true },
    { name: "out.v2", readonly: false },
  ]);
  assert.throws(() => parsed(args), /--mounts given, but the layout has no mounts/);
  assert.throws(() => parsed(["--mounts=../x:ro"]), /is not <name>:ro or <name>:rw/);
  assert.deepEqual(parsed([]).mounts, []);
});

Deno.test("--queue-locks: shared unless the isolator says the sandbox's locks are private; anything else refused", () => {
  assert.equal(parsed([]).privateQueueLocks, false);
  assert.equal(parsed(["--queue-locks=private"]).privateQueueLocks, true);
  assert.equal(parsed(["--queue-locks=shared"]).privateQueueLocks, false);
  assert.throws(() => parsed(["--queue-locks=none"]), /--queue-locks must be shared or private/);
});
