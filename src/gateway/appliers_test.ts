import assert from "node:assert/strict";
import type { AgentGroupId, ChangeKind, ChangeRequest } from "../../contract/mod.ts";
import { Registry } from "../registry/mod.ts";
import { openTestState } from "../../tests/support/state.ts";
import { tempDir } from "../../tests/support/mod.ts";
import { LEAST_PRIVILEGE_TOOLS } from "../catalog/mod.ts";
import { captureBefore, registryApplier } from "./appliers.ts";

let counter = 0;
function req(kind: ChangeKind, after: unknown, agentGroupId = "g1"): ChangeRequest {
  return {
    id: `chg_t${++counter}`,
    kind,
    agentGroupId,
    requestedBy: "t",
    before: null,
    after,
    createdAt: "2026-01-01T00:00:00.000Z",
  } as unknown as ChangeRequest;
}

function fixture(dir: string) {
  const state = openTestState(dir);
  const registry = new Registry(state);
  registry.putAgentGroup({ id: "g1", name: "One", personaDocs: { identity: "I am one", soul: "calm" } });
  const apply = registryApplier(registry, { mounts: { allowedSourcePrefixes: [`${dir}/shared`] } });
  return { state, registry, apply, [Symbol.dispose]: () => state.close() };
}

Deno.test("persona writes the documents; 'persona' means instructions; '' clears", () => {
  using dir = tempDir();
  using f = fixture(dir.path);
  f.apply(req("persona", { persona: "be terse" }));
  assert.deepEqual(f.registry.getAgentGroup("g1").personaDocs, {
    identity: "I am one",
    soul: "calm",
    instructions: "be terse",
  });
  f.apply(req("persona", { soul: "" }));
  assert.equal(f.registry.getAgentGroup("g1").personaDocs.soul, "");
  assert.match(f.registry.getLaunchSpec("g1").persona, /be terse/);
});

Deno.test("enabled_tools: replace, {tools} replace, {add} union; add to unrestricted stays unrestricted", () => {
  using dir = tempDir();
  using f = fixture(dir.path);
  f.apply(req("enabled_tools", { add: ["read_file"] }));
  assert.equal(f.registry.getAgentGroup("g1").enabledTools, null);
  f.apply(req("enabled_tools", ["read_file", "write_file"]));
  f.apply(req("enabled_tools", { add: ["write_file", "list_dir"] }));
  assert.deepEqual(f.registry.getAgentGroup("g1").enabledTools, ["read_file", "write_file", "list_dir"]);
  f.apply(req("enabled_tools", { tools: ["send_message"] }));
  assert.deepEqual(f.registry.getAgentGroup("g1").enabledTools, ["send_message"]);
});

Deno.test("packages are recorded into the launch spec, unioned", () => {
  using dir = tempDir();
  using f = fixture(dir.path);
  f.apply(req("packages", { apt: ["ripgrep"], npm: ["@scope/pkg"] }));
  f.apply(req("packages", ["jq", "ripgrep"]));
  assert.deepEqual(f.registry.getLaunchSpec("g1").packages, { apt: ["jq", "ripgrep"], npm: ["@scope/pkg"] });
});

Deno.test("mounts are bound by name (replaced, removed), resolved again at apply", () => {
  using dir = tempDir();
  using f = fixture(dir.path);
  const shared = `${dir.path}/shared`;
  for (const d of ["a", "b", "c"]) Deno.mkdirSync(`${shared}/${d}`, { recursive: true });
  f.apply(req("mounts", [{ source: `${shared}/a` }]));
  f.apply(
    req("mounts", [{ name: "docs", source: `${shared}/b`, readonly: false }, { source: `${shared}/c` }]),
  );
  assert.deepEqual(f.registry.getLaunchSpec("g1").mounts, [
    { name: "a", source: `${shared}/a`, readonly: true },
    { name: "c", source: `${shared}/c`, readonly: true },
    { name: "docs", source: `${shared}/b`, readonly: false },
  ]);
  f.apply(req("mounts", [{ name: "a", remove: true }, { name: "docs", source: `${shared}/a` }]));
  assert.deepEqual(f.registry.getLaunchSpec("g1").mounts, [
    { name: "c", source: `${shared}/c`, readonly: true },
    { name: "docs", source: `${shared}/a`, readonly: true },
  ]);
  // Approved, then swapped for a symlink out of the prefix before it was applied: refused, nothing written.
  Deno.mkdirSync(`${dir.path}/secret`);
  Deno.removeSync(`${shared}/b`);
  Deno.symlinkSync(`${dir.path}/secret`, `${shared}/b`);
  assert.throws(() => f.apply(req("mounts", [{ source: `${shared}/b` }])), /a symlink leads out/);
  assert.equal(f.registry.getLaunchSpec("g1").mounts.length, 2);
});

Deno.test("wiring edits the agent's wiring of a chat, or creates one; unknown-sender policy too", () => {
  using dir = tempDir();
  using f = fixture(dir.path);
  const mg = f.registry.getOrCreateMessagingGroup({ channelType: "slack", platformId: "C1" });
  f.apply(
    req("wiring", {
      messagingGroupId: mg.id,
      engage: "pattern",
      pattern: "^hey",
      unknownSenderPolicy: "public",
    }),
  );
  const [w] = f.registry.listWiringsForMessagingGroup(mg.id);
  assert.equal(w.engageMode, "pattern");
  assert.equal(w.engagePattern, "^hey");
  assert.equal(f.registry.getMessagingGroup(mg.id).unknownSenderPolicy, "public");
  f.apply(req("wiring", { wiringId: w.id, engage: "mention", sessionMode: "per-thread" }));
  const after = f.registry.getWiring(w.id);
  assert.equal(after.engageMode, "mention");
  assert.equal(after.sessionMode, "per-thread");
  assert.equal(f.registry.listWiringsForMessagingGroup(mg.id).length, 1);
});

Deno.test("permissions add and remove members, scoped roles and destinations", () => {
  using dir = tempDir();
  using f = fixture(dir.path);
  f.apply(req("permissions", {
    addMembers: ["slack:amy", "slack:bob"],
    grantRoles: [{ userId: "slack:cat", role: "admin" }],
    addDestinations: [{ channelType: "slack", platformId: "C9" }],
  }));
  assert.deepEqual(f.registry.canAccess("slack:amy", "g1"), { allowed: true, reason: "member" });
  assert.deepEqual(f.registry.canAccess("slack:cat", "g1"), { allowed: true, reason: "scoped-admin" });
  assert.ok(f.registry.checkDestination({ agentGroupId: "g1", channelType: "slack", platformId: "C9" }));
  f.apply(
    req("permissions", {
      removeMembers: ["slack:bob"],
      revokeRoles: [{ userId: "slack:cat", role: "admin" }],
    }),
  );
  assert.deepEqual(f.registry.listMembers("g1"), ["slack:amy"]);
  assert.equal(f.registry.canAccess("slack:cat", "g1").allowed, false);
});

Deno.test("permissions choose the memory partition; a change naming none leaves it", () => {
  using dir = tempDir();
  using f = fixture(dir.path);
  f.apply(req("permissions", { addMembers: ["slack:amy", "slack:bob"] }));
  assert.equal(f.registry.getAgentGroup("g1").memoryPartition, "user");
  f.apply(req("permissions", { memoryPartition: "session" }));
  f.apply(req("permissions", { addMembers: ["slack:cat"] }));
  assert.equal(f.registry.getAgentGroup("g1").memoryPartition, "session");
  assert.equal(f.registry.getAgentGroup("g1").memoryPartitionChosen, true);
});

Deno.test("create_agent materialises name, folder, persona, tools, model, members and wirings", () => {
  using dir = tempDir();
  using f = fixture(dir.path);
  const mg = f.registry.getOrCreateMessagingGroup({ channelType: "telegram", platformId: "42" });
  const change = req("create_agent", {
    name: "Research Bot",
    persona: { identity: "A researcher", instructions: "cite sources" },
    enabled_tools: ["read_file", "write_file"],
    members: ["telegram:7"],
    wirings: [{ messagingGroupId: mg.id, engage: "mention" }],
    provider: "anthropic",
    model: "claude-x",
  }, "research-bot");
  f.apply(change);
  f.apply(change); // idempotent re-apply
  const g = f.registry.getAgentGroup("research-bot");
  assert.equal(g.name, "Research Bot");
  assert.equal(g.folder, "research-bot");
  assert.deepEqual(g.personaDocs, { identity: "A researcher", soul: "", instructions: "cite sources" });
  assert.deepEqual(g.enabledTools, ["read_file", "write_file"]);
  assert.equal(g.provider, "anthropic");
  assert.equal(g.model, "claude-x");
  assert.deepEqual(f.registry.listMembers("research-bot"), ["telegram:7"]);
  const wirings = f.registry.listWiringsForMessagingGroup(mg.id);
  assert.equal(wirings.length, 1);
  assert.equal(wirings[0].agentGroupId, "research-bot");
});

Deno.test("create_agent without enabled_tools gets the least-privilege tools; every tool only with all_tools", () => {
  using dir = tempDir();
  using f = fixture(dir.path);
  f.apply(req("create_agent", { name: "Bare" }, "bare"));
  assert.deepEqual(f.registry.getAgentGroup("bare").enabledTools, [...LEAST_PRIVILEGE_TOOLS]);
  f.apply(req("create_agent", { name: "Empty", enabled_tools: [] }, "empty"));
  assert.deepEqual(f.registry.getAgentGroup("empty").enabledTools, [...LEAST_PRIVILEGE_TOOLS]);
  f.apply(req("create_agent", { name: "Wide", all_tools: true }, "wide"));
  assert.equal(f.registry.getAgentGroup("wide").enabledTools, null, "all_tools is the every-tool list");
  assert.throws(
    () =>
      f.apply(req("create_agent", { name: "Both", all_tools: true, enabled_tools: ["read_file"] }, "both")),
    /exclude each other/,
  );
});

Deno.test("a failing apply changes nothing (one transaction)", () => {
  using dir = tempDir();
  using f = fixture(dir.path);
  assert.throws(() =>
    f.apply(
      req("permissions", {
        addMembers: ["slack:amy"],
        addDestinations: [{ channelType: "BAD TYPE", platformId: "x" }],
      }),
    )
  );
  assert.deepEqual(f.registry.listMembers("g1"), []);
  assert.throws(() => f.apply(req("mcp_register", {})), /no MCP catalog/);
});

Deno.test("before captures what the change would replace", () => {
  using dir = tempDir();
  using f = fixture(dir.path);
  assert.deepEqual(captureBefore(f.registry, "persona", "g1" as AgentGroupId), {
    identity: "I am one",
    soul: "calm",
    instructions: "",
  });
  assert.equal(captureBefore(f.registry, "enabled_tools", "g1" as AgentGroupId), null);
  assert.equal(captureBefore(f.registry, "create_agent", "new" as AgentGroupId), null);
  assert.deepEqual(captureBefore(f.registry, "permissions", "g1" as AgentGroupId), {
    members: [],
    roles: [],
    destinations: [],
    memoryPartition: "group",
  });
});
