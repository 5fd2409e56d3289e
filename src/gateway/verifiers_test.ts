import assert from "node:assert/strict";
import type { AgentGroupId, ChangeKind, ChangeRequest, Verifier } from "../../contract/mod.ts";
import { Registry } from "../registry/mod.ts";
import { openTestState } from "../../tests/support/state.ts";
import { tempDir } from "../../tests/support/mod.ts";
import { runChain } from "./chain.ts";
import {
  agentGroupVerifier,
  createAgentVerifier,
  enabledToolsVerifier,
  mcpVerifier,
  mountAllowlistVerifier,
  PACKAGES_REFUSAL,
  packagesVerifier,
  payloadSchemaVerifier,
  permissionsVerifier,
  standardVerifiers,
  wiringVerifier,
} from "./verifiers.ts";

function req(kind: ChangeKind, after: unknown, agentGroupId = "g1"): ChangeRequest {
  return {
    id: "c1",
    kind,
    agentGroupId: agentGroupId as AgentGroupId,
    requestedBy: "t",
    before: null,
    after: after as never,
    createdAt: "2026-01-01T00:00:00.000Z",
  } as unknown as ChangeRequest;
}

async function verdict(v: Verifier, r: ChangeRequest) {
  return (await v.verify(r)).verdict;
}

function fixture(dir: string) {
  const state = openTestState(dir);
  const registry = new Registry(state);
  registry.putAgentGroup({ id: "g1", name: "One" });
  const mg = registry.getOrCreateMessagingGroup({ channelType: "slack", platformId: "C1" });
  const wiring = registry.putWiring({
    messagingGroupId: mg.id,
    agentGroupId: "g1" as AgentGroupId,
    engageMode: "mention",
  });
  return { state, registry, mg, wiring, [Symbol.dispose]: () => state.close() };
}

Deno.test("payload-schema: accepts each kind's documented forms, rejects others naming the field", async () => {
  const v = payloadSchemaVerifier();
  const good: [ChangeKind, unknown][] = [
    ["persona", { instructions: "be terse" }],
    ["persona", { persona: "helpful" }],
    ["enabled_tools", ["read_file"]],
    ["enabled_tools", { add: ["write_file"] }],
    ["packages", { apt: ["ripgrep"], npm: ["@scope/pkg"] }],
    ["packages", ["jq"]],
    ["mounts", [{ source: "/srv/data" }]],
    ["wiring", { engage: "mention", messagingGroupId: "mg_1" }],
    ["permissions", { addMembers: ["slack:u42"] }],
    ["create_agent", { name: "Helper Bot" }],
    ["mcp_access", { server: "github" }],
  ];
  for (const [kind, after] of good) {
    assert.equal(await verdict(v, req(kind, after)), "pass", `${kind} ${JSON.stringify(after)}`);
  }
  const bad: [ChangeKind, unknown, RegExp][] = [
    ["packages", { npm: ["left-pad; rm -rf /"] }, /npm\.0: package names/],
    ["packages", { pip: ["x"] }, /Unrecognized key/],
    ["persona", {}, /at least one/],
    ["persona", { soul: "x".repeat(3000) }, /2048 bytes/],
    ["enabled_tools", "read_file", /payload/],
    ["mounts", [{ src: "/x" }], /payload/],
    ["permissions", { grant: "viewer", member: "u42" }, /Unrecognized key/],
    ["permissions", { addMembers: ["u42"] }, /addMembers\.0/],
    ["create_agent", { name: "../evil" }, /name/],
    ["wiring", { engage: "sometimes" }, /engage/],
  ];
  for (const [kind, after, why] of bad) {
    const result = await v.verify(req(kind, after));
    assert.equal(result.verdict, "reject", `${kind} ${JSON.stringify(after)}`);
    assert.match(result.reason, why);
  }
});

Deno.test("agent-group: existing target passes, unknown rejects, create_agent exempt", async () => {
  using dir = tempDir();
  using f = fixture(dir.path);
  const v = agentGroupVerifier(f.registry);
  assert.equal(await verdict(v, req("persona", {}, "g1")), "pass");
  assert.equal(await verdict(v, req("persona", {}, "nope")), "reject");
  assert.equal(await verdict(v, req("create_agent", {}, "new-one")), "pass");
});

Deno.test("mount-allowlist: real directories under allowed prefixes, valid unique names, no symlink out", async () => {
  using dir = tempDir();
  const prefix = `${dir.path}/allowed`;
  for (const d of ["allowed/data", "allowed/a/b", "outside"]) {
    Deno.mkdirSync(`${dir.path}/${d}`, { recursive: true });
  }
  Deno.writeTextFileSync(`${prefix}/file.txt`, "x");
  Deno.symlinkSync(`${dir.path}/outside`, `${prefix}/escape`);
  Deno.symlinkSync("data", `${prefix}/alias`);
  const v = mountAllowlistVerifier({ allowedSourcePrefixes: [prefix] });
  const ok = [
    [{ source: `${prefix}/data` }],
    [{ name: "deep", source: `${prefix}/a/b`, readonly: false }],
    [{ name: "docs", source: `${prefix}/alias` }],
    [{ name: "gone", remove: true }],
    [],
  ];
  for (const after of ok) assert.equal(await verdict(v, req("mounts", after)), "pass", JSON.stringify(after));
  const bad: [unknown, RegExp][] = [
    [[{ source: "/etc" }], /outside the allowed prefixes/],
    [[{ source: `${prefix}/../outside` }], /absolute path without '\.\.'/],
    [[{ source: "relative/path" }], /absolute path/],
    [[{ source: `${prefix}X` }], /outside the allowed prefixes/],
    [[{ source: `${prefix}/missing` }], /does not exist/],
    [[{ source: `${prefix}/file.txt` }], /not a directory/],
    [[{ source: `${prefix}/escape` }], /resolves to .*outside.*a symlink leads out/],
    [[{ name: "x", source: `${prefix}/data` }, { name: "x", source: `${prefix}/a` }], /named twice/],
  ];
  for (const [after, reason] of bad) {
    const r = await v.verify(req("mounts", after));
    assert.equal(r.verdict, "reject", JSON.stringify(after));
    assert.match(r.reason, reason);
  }
  assert.equal(await verdict(v, req("persona", { soul: "x" })), "pass");
});

Deno.test("enabled-tools: known names pass, unknown ones are named", async () => {
  const v = enabledToolsVerifier();
  assert.equal(await verdict(v, req("enabled_tools", ["read_file", "send_message"])), "pass");
  const r = await v.verify(req("enabled_tools", { add: ["read_file", "shell_exec"] }));
  assert.deepEqual(r, { verdict: "reject", reason: "unknown tools: shell_exec" });
});

Deno.test("create-agent: always a human when valid; rejects taken, mismatched, unsafe and dangling", async () => {
  using dir = tempDir();
  using f = fixture(dir.path);
  const v = createAgentVerifier(f.registry);
  assert.equal(await verdict(v, req("create_agent", { name: "Helper Bot" }, "helper-bot")), "require-human");
  assert.equal(
    await verdict(
      v,
      req(
        "create_agent",
        { name: "X", folder: "x-folder", wirings: [{ messagingGroupId: f.mg.id }] },
        "x-folder",
      ),
    ),
    "require-human",
  );
  assert.equal(await verdict(v, req("create_agent", { name: "g1" }, "g1")), "reject");
  assert.equal(await verdict(v, req("create_agent", { name: "Helper" }, "other")), "reject");
  assert.equal(
    await verdict(v, req("create_agent", { name: "A", enabled_tools: ["nope_tool"] }, "a")),
    "reject",
  );
  assert.equal(
    await verdict(v, req("create_agent", { name: "B", wirings: [{ messagingGroupId: "mg_missing" }] }, "b")),
    "reject",
  );
  assert.equal(
    await verdict(v, req("create_agent", { name: "C", all_tools: true, enabled_tools: ["read_file"] }, "c")),
    "reject",
  );
  assert.equal(await verdict(v, req("create_agent", { name: "D", all_tools: true }, "d")), "require-human");
});

Deno.test("wiring: own wirings and known chats only; egress needs a broker; pattern must compile", async () => {
  using dir = tempDir();
  using f = fixture(dir.path);
  const v = wiringVerifier({ registry: f.registry, egressEnabled: false });
  assert.equal(await verdict(v, req("wiring", { wiringId: f.wiring.id, engage: "mention-sticky" })), "pass");
  assert.equal(
    await verdict(v, req("wiring", { messagingGroupId: f.mg.id, engage: "pattern", pattern: "^hey" })),
    "pass",
  );
  assert.equal(await verdict(v, req("wiring", { wiringId: f.wiring.id }, "g2")), "reject");
  assert.equal(await verdict(v, req("wiring", { wiringId: "wr_missing" })), "reject");
  assert.equal(
    await verdict(v, req("wiring", { messagingGroupId: "mg_missing", engage: "mention" })),
    "reject",
  );
  assert.equal(await verdict(v, req("wiring", { engage: "mention" })), "reject");
  assert.equal(
    await verdict(v, req("wiring", { messagingGroupId: f.mg.id, engage: "pattern", pattern: "(" })),
    "reject",
  );
  const egress = await v.verify(req("wiring", { egress: ["api.example.com"] }));
  assert.equal(egress.verdict, "reject");
  assert.match(egress.reason, /no egress broker/);
});

Deno.test("permissions: admin grants pass, owner through a change is refused", async () => {
  const v = permissionsVerifier();
  assert.equal(
    await verdict(v, req("permissions", { grantRoles: [{ userId: "slack:a", role: "admin" }] })),
    "pass",
  );
  assert.equal(
    await verdict(v, req("permissions", { grantRoles: [{ userId: "slack:a", role: "owner" }] })),
    "reject",
  );
});

Deno.test("mcp: refused while MCP is off; unknown servers refused when on", async () => {
  assert.equal(await verdict(mcpVerifier(undefined), req("mcp_access", { server: "github" })), "reject");
  assert.equal(
    await verdict(
      mcpVerifier(undefined),
      req("mcp_register", { name: "x", transport: "stdio", command: "x" }),
    ),
    "reject",
  );
  assert.equal(
    await verdict(mcpVerifier(new Set(["github"])), req("mcp_access", { server: "github" })),
    "pass",
  );
  assert.equal(
    await verdict(mcpVerifier(new Set(["github"])), req("mcp_access", { server: "gitlab" })),
    "reject",
  );
  // A grant whose tools cannot be recorded for its approver is refused with why.
  const recorded: string[] = [];
  const catalog = {
    has: (name: string) => name === "github",
    recordOffer: (_id: string, grant: { tools?: string[] }) =>
      Promise.resolve(
        grant.tools?.includes("nope") ? "github offers no nope" : void recorded.push(...grant.tools ?? []),
      ),
  };
  assert.equal(
    await verdict(mcpVerifier(catalog), req("mcp_access", { server: "github", tools: ["a"] })),
    "pass",
  );
  assert.deepEqual(recorded, ["a"]);
  const refused = await mcpVerifier(catalog).verify(req("mcp_access", { server: "github", tools: ["nope"] }));
  assert.deepEqual(refused, { verdict: "reject", reason: "github offers no nope" });
});

Deno.test("the standard chain: rejecters short-circuit, valid changes wait for a human", async () => {
  using dir = tempDir();
  using f = fixture(dir.path);
  const chain = standardVerifiers({
    registry: f.registry,
    mounts: { allowedSourcePrefixes: ["/srv"] },
    egressEnabled: false,
    mcpServers: undefined,
  });
  assert.deepEqual(await runChain(chain, req("persona", { instructions: "be terse" })), {
    verdict: "require-human",
    reason: "always-require-human: every change needs a human decision",
  });
  const r = await runChain(chain, req("mounts", [{ source: "" }]));
  assert.equal(r.verdict, "reject");
  assert.match(r.reason, /^payload-schema: /);
  assert.equal(
    (await runChain(chain, req("packages", { apt: ["ripgrep"] }))).reason,
    `packages-refused: ${PACKAGES_REFUSAL}`,
  );
  assert.match(
    (await runChain(chain, req("create_agent", { name: "New" }, "new"))).reason,
    /^create-agent: /,
  );
});

Deno.test("packages: refused up front with the reason, whatever the payload", async () => {
  const verdict = await packagesVerifier().verify({ kind: "packages", after: { apt: ["ripgrep"] } } as never);
  assert.deepEqual(verdict, { verdict: "reject", reason: PACKAGES_REFUSAL });
  assert.equal((await packagesVerifier().verify({ kind: "mounts", after: [] } as never)).verdict, "pass");
});
