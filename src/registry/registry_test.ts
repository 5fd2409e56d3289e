import assert from "node:assert/strict";
import { tempDir } from "../../tests/support/mod.ts";
import { openTestState } from "../../tests/support/state.ts";
import { ConflictError, InvalidInputError, NotFoundError, type StateDb } from "../state/mod.ts";
import { LAST_ACTIVE_STEP_MS, Registry, type RegistryOptions, type RegistryWrite } from "./mod.ts";

/** A registry over a fresh state database, closed with the temp dir. */
function fixture(options?: RegistryOptions) {
  const dir = tempDir();
  const state = openTestState(dir.path);
  return {
    dir: dir.path,
    state,
    registry: new Registry(state, options),
    [Symbol.dispose]() {
      state.close();
      dir[Symbol.dispose]();
    },
  };
}

function seed(registry: Registry) {
  registry.putAgentGroup({ id: "main", name: "Main" });
  const mg = registry.getOrCreateMessagingGroup({ channelType: "slack", platformId: "C1" });
  return { mg: mg.id };
}

/** A clock the test advances by hand. */
function manualClock() {
  let ms = Date.parse("2026-03-01T00:00:00.000Z");
  return { now: () => new Date(ms).toISOString(), advance: (by = 1000) => (ms += by) };
}

Deno.test("registry survives closing and reopening the state database", () => {
  using f = fixture();
  const r = f.registry;
  r.putAgentGroup({
    id: "main",
    name: "Main agent",
    provider: "anthropic",
    model: "claude",
    personaDocs: { identity: "I am Ada.", soul: "Warm." },
    enabledTools: ["read_file", "send_message", "read_file"],
  });
  r.setPackages("main", { apt: ["jq"], npm: ["zod", "zod"] });
  r.setMounts("main", [{ name: "docs", source: "/srv/mounts/docs" }, {
    name: "out",
    source: "/srv/mounts/out",
    readonly: false,
  }]);
  r.setMcpGrant("main", { server: "github", tools: ["search"] });
  const mg = r.getOrCreateMessagingGroup({ channelType: "slack", platformId: "C1", isGroup: true });
  r.putWiring({ id: "wr_1", messagingGroupId: mg.id, agentGroupId: "main", engageMode: "mention" });
  r.putUser({ id: "slack:ann", displayName: "Ann" });
  r.grantRole({ userId: "slack:ann", role: "admin", agentGroupId: "main" });
  r.addMember("slack:bob", "main");
  r.addDestination({ agentGroupId: "main", channelType: "slack", platformId: "C2", displayName: "ops" });
  const session = r.resolveSession("main", mg.id, "t1", "per-thread");
  r.setContainerStatus(session.id, "running");
  const before = {
    spec: r.getLaunchSpec("main"),
    groups: r.listAgentGroups(),
    mgs: r.listMessagingGroups(),
    wirings: r.listWirings(),
    user: r.getUser("slack:ann"),
    destinations: r.listDestinations("main"),
    sessions: r.listSessions(),
  };
  f.state.close();

  using state: StateDb = openTestState(f.dir);
  const again = new Registry(state);
  assert.deepEqual({
    spec: again.getLaunchSpec("main"),
    groups: again.listAgentGroups(),
    mgs: again.listMessagingGroups(),
    wirings: again.listWirings(),
    user: again.getUser("slack:ann"),
    destinations: again.listDestinations("main"),
    sessions: again.listSessions(),
  }, before);
  assert.deepEqual(again.canAccess("slack:ann", "main"), { allowed: true, reason: "scoped-admin" });
  assert.deepEqual(again.canAccess("slack:bob", "main"), { allowed: true, reason: "member" });
  assert.equal(again.findSession("main", mg.id, "t1", "per-thread")?.id, session.id);
  assert.equal(again.getSession(session.id).containerStatus, "running");
});

Deno.test("registry launch spec carries persona, tools, packages, mounts and grants", () => {
  using f = fixture();
  const r = f.registry;
  r.putAgentGroup({ id: "main", name: "Main", personaDocs: { soul: "Warm.", instructions: "Be brief." } });
  r.setEnabledTools("main", ["read_file", "read_file", "send_message"]);
  r.setPackages("main", { npm: ["zod"] });
  r.setMounts("main", [{ name: "docs", source: "/srv/mounts/docs" }]);
  r.setMcpGrant("main", { server: "jira" });
  r.setMcpGrant("main", { server: "github", tools: ["search"] });
  r.setMcpGrant("main", { server: "jira", tools: ["get_issue"] });
  assert.deepEqual(r.getLaunchSpec("main"), {
    agentGroupId: "main",
    name: "Main",
    folder: "main",
    provider: null,
    model: null,
    personaDocs: { identity: "", soul: "Warm.", instructions: "Be brief." },
    persona: "### Soul\nWarm.\n\n### Instructions\nBe brief.",
    enabledTools: ["read_file", "send_message"],
    packages: { apt: [], npm: ["zod"] },
    mounts: [{ name: "docs", source: "/srv/mounts/docs", readonly: true }],
    mcpGrants: [{ server: "github", tools: ["search"] }, { server: "jira", tools: ["get_issue"] }],
    memoryPartition: "group",
  });
  r.setPersonaDocs("main", { identity: "I am Ada.", soul: "" });
  assert.deepEqual(r.getAgentGroup("main").personaDocs, {
    identity: "I am Ada.",
    soul: "",
    instructions: "Be brief.",
  });
  r.setEnabledTools("main", []);
  assert.equal(r.getAgentGroup("main").enabledTools, null);
});

Deno.test("registry put of an existing agent keeps what it omits and guards folders", () => {
  using f = fixture();
  const r = f.registry;
  r.putAgentGroup({ id: "main", name: "Main", folder: "main-dir", enabledTools: ["read_file"], model: "m1" });
  const updated = r.putAgentGroup({ id: "main", name: "Renamed" });
  assert.equal(updated.name, "Renamed");
  assert.equal(updated.folder, "main-dir");
  assert.equal(updated.model, "m1");
  assert.deepEqual(updated.enabledTools, ["read_file"]);
  assert.equal(r.putAgentGroup({ id: "main", name: "Main", enabledTools: null }).enabledTools, null);
  assert.throws(() => r.putAgentGroup({ id: "other", name: "Other", folder: "main-dir" }), ConflictError);
  assert.throws(() => r.putAgentGroup({ id: "../x", name: "X" }), InvalidInputError);
  assert.throws(() => r.putAgentGroup({ id: "x", name: "X", folder: "a..b" }), InvalidInputError);
  assert.throws(() => r.setMounts("main", [{ name: "d", source: "relative/dir" }]), InvalidInputError);
  assert.throws(() => r.setMounts("main", [{ name: "d", source: "/srv/../etc" }]), InvalidInputError);
  assert.throws(() => r.setMounts("main", [{ name: "../d", source: "/srv/d" }]), InvalidInputError);
  assert.throws(
    () => r.setMounts("main", [{ name: "d", source: "/srv/a" }, { name: "d", source: "/srv/b" }]),
    InvalidInputError,
  );
  assert.throws(() => r.setEnabledTools("main", ["Bad Tool"]), InvalidInputError);
  assert.equal(r.hasAgentGroup("main"), true);
  assert.equal(r.hasAgentGroup("other"), false);
});

Deno.test("registry access precedence: owner, global admin, scoped admin, member, none", () => {
  using f = fixture();
  const r = f.registry;
  r.putAgentGroup({ id: "main", name: "Main" });
  r.putAgentGroup({ id: "other", name: "Other" });
  r.grantRole({ userId: "slack:olga", role: "owner" });
  r.addMember("slack:olga", "main");
  r.grantRole({ userId: "slack:gary", role: "admin" });
  r.grantRole({ userId: "slack:gary", role: "admin", agentGroupId: "main" });
  r.grantRole({ userId: "slack:sam", role: "admin", agentGroupId: "main" });
  r.addMember("slack:sam", "main");
  r.grantRole({ userId: "slack:oscar", role: "admin", agentGroupId: "other" });
  r.addMember("slack:mia", "main");
  r.addMember("slack:mia", "main");
  const table: [string, boolean, string][] = [
    ["slack:olga", true, "owner"],
    ["slack:gary", true, "global-admin"],
    ["slack:sam", true, "scoped-admin"],
    ["slack:mia", true, "member"],
    ["slack:oscar", false, "no-access"],
    ["discord:olga", false, "no-access"],
  ];
  for (const [user, allowed, reason] of table) {
    assert.deepEqual(r.canAccess(user, "main"), { allowed, reason }, user);
  }

  r.removeMember("slack:mia", "main");
  assert.deepEqual(r.canAccess("slack:mia", "main"), { allowed: false, reason: "no-access" });
  r.revokeRole({ userId: "slack:gary", role: "admin" });
  assert.deepEqual(r.canAccess("slack:gary", "main"), { allowed: true, reason: "scoped-admin" });
  r.revokeRole({ userId: "slack:gary", role: "admin" });
  assert.throws(() => r.grantRole({ userId: "slack:x", role: "owner", agentGroupId: "main" }), ConflictError);
  assert.throws(() => r.grantRole({ userId: "slack:x", role: "root" as "admin" }), InvalidInputError);
  assert.throws(() => r.grantRole({ userId: "x", role: "admin" }), InvalidInputError);
});

Deno.test("registry sessions partition by mode; findSession never creates", () => {
  using f = fixture();
  const r = f.registry;
  const { mg } = seed(r);
  const mg2 = r.getOrCreateMessagingGroup({ channelType: "slack", platformId: "C2" }).id;

  assert.equal(r.findSession("main", mg, "t1", "shared"), undefined);
  const shared = r.resolveSession("main", mg, "t1", "shared");
  assert.equal(shared.threadId, null);
  assert.equal(shared.containerStatus, "new");
  assert.equal(r.resolveSession("main", mg, "t2", "shared").id, shared.id);
  assert.equal(r.findSession("main", mg, null, "shared")?.id, shared.id);
  assert.notEqual(r.resolveSession("main", mg2, "t1", "shared").id, shared.id);

  assert.equal(r.findSession("main", mg, "t1", "per-thread"), undefined);
  const t1 = r.resolveSession("main", mg, "t1", "per-thread");
  assert.equal(t1.threadId, "t1");
  assert.notEqual(t1.id, shared.id);
  assert.notEqual(r.resolveSession("main", mg, "t2", "per-thread").id, t1.id);
  assert.equal(
    r.resolveSession("main", mg, null, "per-thread").id,
    r.resolveSession("main", mg, "", "per-thread").id,
  );
  assert.equal(r.findSession("main", mg, "t1", "per-thread")?.id, t1.id);

  const everywhere = r.resolveSession("main", mg, "t1", "agent-shared");
  assert.equal(r.resolveSession("main", mg2, "t9", "agent-shared").id, everywhere.id);
  assert.equal(everywhere.messagingGroupId, mg);

  assert.equal(r.listSessions().length, 6);
  assert.throws(() => r.resolveSession("main", mg, null, "bogus" as "shared"), InvalidInputError);
});

Deno.test("registry resolveSession bumps last activity; findSession leaves it", () => {
  const clock = manualClock();
  using f = fixture({ now: clock.now });
  const r = f.registry;
  const { mg } = seed(r);
  const first = r.resolveSession("main", mg, null, "shared");
  clock.advance();
  assert.equal(r.findSession("main", mg, null, "shared")?.lastActive, first.lastActive);
  assert.equal(
    r.resolveSession("main", mg, null, "shared").lastActive,
    first.lastActive,
    "within a step: kept",
  );
  clock.advance(LAST_ACTIVE_STEP_MS - 1000);
  const second = r.resolveSession("main", mg, null, "shared");
  assert.equal(second.createdAt, first.createdAt);
  assert.equal(second.lastActive, clock.now());
  assert.ok(second.lastActive > first.lastActive);

  clock.advance();
  const other = r.resolveSession("main", mg, null, "agent-shared");
  assert.deepEqual(r.listSessions("main").map((s) => s.id), [other.id, first.id]);
  assert.equal(r.setContainerStatus(first.id, "stopped").containerStatus, "stopped");
  assert.throws(() => r.setContainerStatus(first.id, "gone" as "new"), InvalidInputError);
});

Deno.test("registry wirings list by descending priority, ties by id", () => {
  using f = fixture();
  const r = f.registry;
  const { mg } = seed(r);
  const mg2 = r.getOrCreateMessagingGroup({ channelType: "slack", platformId: "C2" }).id;
  for (
    const [id, priority, on] of [["wr_b", 5, mg], ["wr_a", 5, mg], ["wr_c", 10, mg], ["wr_d", -1, mg], [
      "wr_e",
      7,
      mg2,
    ]]
  ) {
    r.putWiring({
      id: id as string,
      messagingGroupId: on as string,
      agentGroupId: "main",
      engageMode: "mention",
      priority: priority as number,
    });
  }
  assert.deepEqual(r.listWirings().map((w) => w.id), ["wr_c", "wr_e", "wr_a", "wr_b", "wr_d"]);
  assert.deepEqual(r.listWiringsForMessagingGroup(mg).map((w) => w.id), ["wr_c", "wr_a", "wr_b", "wr_d"]);

  const replaced = r.putWiring({
    id: "wr_d",
    messagingGroupId: mg,
    agentGroupId: "main",
    engageMode: "pattern",
    engagePattern: "^hi",
    priority: 20,
  });
  assert.deepEqual(replaced, {
    id: "wr_d",
    messagingGroupId: mg,
    agentGroupId: "main",
    engageMode: "pattern",
    engagePattern: "^hi",
    senderScope: "known",
    ignoredMessagePolicy: "drop",
    sessionMode: "shared",
    priority: 20,
  });
  assert.equal(r.listWiringsForMessagingGroup(mg)[0].id, "wr_d");
  assert.match(
    r.putWiring({ messagingGroupId: mg, agentGroupId: "main", engageMode: "mention" }).id,
    /^wr_[0-9a-f]{16}$/,
  );
  r.deleteWiring("wr_d");
  assert.throws(() => r.getWiring("wr_d"), NotFoundError);
  for (const engagePattern of ["", "("]) {
    assert.throws(
      () => r.putWiring({ messagingGroupId: mg, agentGroupId: "main", engageMode: "pattern", engagePattern }),
      InvalidInputError,
    );
  }
});

Deno.test("registry messaging groups are unique by channel, platform and instance", () => {
  using f = fixture();
  const r = f.registry;
  const a = r.getOrCreateMessagingGroup({ channelType: "slack", platformId: "C1" });
  assert.equal(a.instance, "slack");
  assert.equal(a.unknownSenderPolicy, "strict");
  assert.equal(a.isGroup, false);
  assert.deepEqual(r.getOrCreateMessagingGroup({ channelType: "slack", platformId: "C1", isGroup: true }), a);
  const b = r.getOrCreateMessagingGroup({ channelType: "slack", platformId: "C1", instance: "work" });
  assert.notEqual(b.id, a.id);
  assert.equal(r.setUnknownSenderPolicy(a.id, "public").unknownSenderPolicy, "public");
  assert.equal(r.getMessagingGroup(a.id).unknownSenderPolicy, "public");
  assert.equal(r.listMessagingGroups().length, 2);
  assert.throws(() => r.setUnknownSenderPolicy(a.id, "open" as "public"), InvalidInputError);
});

Deno.test("registry destinations are added, checked, listed and removed", () => {
  using f = fixture();
  const r = f.registry;
  seed(r);
  const key = { agentGroupId: "main", channelType: "slack", platformId: "C9" };
  assert.equal(r.checkDestination(key), false);
  r.addDestination(key);
  r.addDestination({ ...key, displayName: "alerts" });
  r.addDestination({ ...key, platformId: "C3" });
  assert.equal(r.checkDestination(key), true);
  assert.deepEqual(r.listDestinations("main").map((d) => [d.platformId, d.displayName]), [["C3", null], [
    "C9",
    "alerts",
  ]]);
  r.removeDestination(key);
  r.removeDestination(key);
  assert.equal(r.checkDestination(key), false);
  assert.throws(() => r.addDestination({ ...key, channelType: "Slack!" }), InvalidInputError);
});

Deno.test("registry deleting an agent removes what hangs off it and reports its sessions", () => {
  using f = fixture();
  const r = f.registry;
  const { mg } = seed(r);
  r.putAgentGroup({ id: "keep", name: "Keep" });
  r.putWiring({ id: "wr_1", messagingGroupId: mg, agentGroupId: "main", engageMode: "mention" });
  r.putWiring({ id: "wr_2", messagingGroupId: mg, agentGroupId: "keep", engageMode: "mention" });
  r.grantRole({ userId: "slack:sam", role: "admin", agentGroupId: "main" });
  r.grantRole({ userId: "slack:gary", role: "admin" });
  r.addMember("slack:mia", "main");
  r.addDestination({ agentGroupId: "main", channelType: "slack", platformId: "C9" });
  const s = r.resolveSession("main", mg, null, "shared");
  r.resolveSession("keep", mg, null, "shared");

  assert.deepEqual(r.deleteAgentGroup("main"), [s.id]);
  assert.deepEqual(r.listWirings().map((w) => w.id), ["wr_2"]);
  assert.deepEqual(r.listSessions().map((x) => x.agentGroupId), ["keep"]);
  assert.equal(f.state.db.get("SELECT count(*) AS n FROM roles")?.n, 1);
  assert.equal(f.state.db.get("SELECT count(*) AS n FROM members")?.n, 0);
  assert.equal(f.state.db.get("SELECT count(*) AS n FROM destinations")?.n, 0);
  r.putAgentGroup({ id: "main", name: "Main again" });
  assert.deepEqual(r.canAccess("slack:sam", "main"), { allowed: false, reason: "no-access" });
});

Deno.test("registry unknown ids are typed not-found errors", () => {
  using f = fixture();
  const r = f.registry;
  const { mg } = seed(r);
  const missing: [string, () => unknown][] = [
    ["getAgentGroup", () => r.getAgentGroup("nope")],
    ["deleteAgentGroup", () => r.deleteAgentGroup("nope")],
    ["setPersonaDocs", () => r.setPersonaDocs("nope", { soul: "x" })],
    ["setEnabledTools", () => r.setEnabledTools("nope", null)],
    ["setPackages", () => r.setPackages("nope", {})],
    ["setMounts", () => r.setMounts("nope", [])],
    ["setMcpGrant", () => r.setMcpGrant("nope", { server: "github" })],
    ["getLaunchSpec", () => r.getLaunchSpec("nope")],
    ["getMessagingGroup", () => r.getMessagingGroup("mg_nope")],
    ["setUnknownSenderPolicy", () => r.setUnknownSenderPolicy("mg_nope", "strict")],
    [
      "putWiring group",
      () => r.putWiring({ messagingGroupId: mg, agentGroupId: "nope", engageMode: "mention" }),
    ],
    [
      "putWiring chat",
      () => r.putWiring({ messagingGroupId: "mg_nope", agentGroupId: "main", engageMode: "mention" }),
    ],
    ["getWiring", () => r.getWiring("wr_nope")],
    ["listWiringsForMessagingGroup", () => r.listWiringsForMessagingGroup("mg_nope")],
    ["deleteWiring", () => r.deleteWiring("wr_nope")],
    ["getUser", () => r.getUser("slack:nope")],
    ["grantRole", () => r.grantRole({ userId: "slack:a", role: "admin", agentGroupId: "nope" })],
    ["addMember", () => r.addMember("slack:a", "nope")],
    ["canAccess", () => r.canAccess("slack:a", "nope")],
    [
      "addDestination",
      () => r.addDestination({ agentGroupId: "nope", channelType: "slack", platformId: "C" }),
    ],
    ["listDestinations", () => r.listDestinations("nope")],
    ["resolveSession group", () => r.resolveSession("nope", mg, null, "shared")],
    ["resolveSession chat", () => r.resolveSession("main", "mg_nope", null, "shared")],
    ["getSession", () => r.getSession("ses_nope")],
    ["listSessions", () => r.listSessions("nope")],
    ["setContainerStatus", () => r.setContainerStatus("ses_nope", "running")],
  ];
  for (const [name, call] of missing) assert.throws(call, NotFoundError, name);
  assert.equal(r.listSessions().length, 0);
});

Deno.test("members and roles that reach a group are listed", () => {
  using dir = tempDir();
  using state = openTestState(dir.path);
  const reg = new Registry(state);
  reg.putAgentGroup({ id: "g1", name: "One" });
  reg.putAgentGroup({ id: "g2", name: "Two" });
  reg.addMember("slack:bob", "g1");
  reg.addMember("slack:amy", "g1");
  reg.addMember("slack:cid", "g2");
  reg.grantRole({ userId: "slack:own", role: "owner" });
  reg.grantRole({ userId: "slack:adm", role: "admin", agentGroupId: "g1" });
  reg.grantRole({ userId: "slack:adm2", role: "admin", agentGroupId: "g2" });
  assert.deepEqual(reg.listMembers("g1"), ["slack:amy", "slack:bob"]);
  assert.deepEqual(reg.listRoles("g1"), [
    { userId: "slack:adm", role: "admin", scoped: true },
    { userId: "slack:own", role: "owner", scoped: false },
  ]);
});

Deno.test("every configuration write is reported once it commits: who, what, before and after", () => {
  using f = fixture();
  const r = f.registry;
  const writes: RegistryWrite[] = [];
  r.onWrite((w) => writes.push(w));
  const op = r.as("operator");
  op.putAgentGroup({ id: "main", name: "Main" });
  op.setEnabledTools("main", ["read_file"]);
  op.setPersonaDocs("main", { soul: "Warm." });
  op.setPackages("main", { apt: ["jq"] });
  op.setMounts("main", [{ name: "docs", source: "/srv/docs" }]);
  op.setMcpGrant("main", { server: "github" });
  const mg = op.getOrCreateMessagingGroup({ channelType: "slack", platformId: "C1" });
  op.getOrCreateMessagingGroup({ channelType: "slack", platformId: "C1" });
  op.setUnknownSenderPolicy(mg.id, "strict");
  op.putWiring({ id: "wr_1", messagingGroupId: mg.id, agentGroupId: "main", engageMode: "mention" });
  op.putUser({ id: "slack:ann" });
  op.grantRole({ userId: "slack:ann", role: "owner" });
  op.revokeRole({ userId: "slack:ann", role: "owner" });
  op.addMember("slack:bob", "main");
  op.removeMember("slack:bob", "main");
  op.addDestination({ agentGroupId: "main", channelType: "slack", platformId: "C2" });
  op.removeDestination({ agentGroupId: "main", channelType: "slack", platformId: "C2" });
  op.deleteWiring("wr_1");
  // Session bookkeeping is runtime state: not reported.
  const session = op.resolveSession("main", mg.id, null, "shared");
  op.setContainerStatus(session.id, "running");
  op.deleteAgentGroup("main");
  // A refused write changes nothing and is not reported.
  assert.throws(() => op.addMember("slack:bob", "nope"), NotFoundError);

  assert.deepEqual(writes.map((w) => w.action), [
    "put-agent-group",
    "set-enabled-tools",
    "set-persona",
    "set-packages",
    "set-mounts",
    "set-mcp-grant",
    "create-messaging-group",
    "set-unknown-sender-policy",
    "put-wiring",
    "put-user",
    "grant-role",
    "revoke-role",
    "add-member",
    "remove-member",
    "add-destination",
    "remove-destination",
    "delete-wiring",
    "delete-agent-group",
  ]);
  assert.ok(writes.every((w) => w.by === "operator"));
  const tools = writes[1];
  assert.equal(tools.agentGroupId, "main");
  assert.equal(tools.subject, "agent group main");
  assert.deepEqual([
    (tools.before as { enabledTools: unknown }).enabledTools,
    (tools.after as { enabledTools: unknown }).enabledTools,
  ], [
    null,
    ["read_file"],
  ]);
  const member = writes.find((w) => w.action === "add-member")!;
  assert.deepEqual([member.subject, member.before, member.after], ["member slack:bob of main", null, {
    member: true,
  }]);
  const deleted = writes.at(-1)!;
  assert.equal(deleted.after, null);
  // The default registry writes as the host.
  r.putUser({ id: "slack:cy" });
  assert.equal(writes.at(-1)!.by, "host");
});

Deno.test("writes in a registry transaction are reported when it commits, and not at all when it rolls back", () => {
  using f = fixture();
  const writes: RegistryWrite[] = [];
  f.registry.onWrite((w) => writes.push(w));
  const change = f.registry.as("change chg_1");
  assert.throws(() =>
    change.transaction(() => {
      change.putAgentGroup({ id: "main", name: "Main" });
      change.addMember("slack:bob", "nope");
    }), NotFoundError);
  assert.equal(writes.length, 0);
  assert.equal(f.registry.hasAgentGroup("main"), false);
  change.transaction(() => {
    change.putAgentGroup({ id: "main", name: "Main" });
    assert.equal(writes.length, 0, "nothing is reported before the commit");
    change.addMember("slack:bob", "main");
  });
  assert.deepEqual(writes.map((w) => [w.by, w.action]), [["change chg_1", "put-agent-group"], [
    "change chg_1",
    "add-member",
  ]]);
});
