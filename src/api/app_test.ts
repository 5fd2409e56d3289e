import assert from "node:assert/strict";
import type { ChangeId } from "../../contract/ids.ts";
import { openTestApi, type TestApi } from "../../tests/support/api.ts";
import { OPENAPI_PATH } from "./mod.ts";

/** Calls and insists on `status`; returns the body. */
async function ok(api: TestApi, status: number, method: string, path: string, body?: unknown) {
  const answer = await api.call(method, path, { body });
  assert.equal(answer.status, status, `${method} ${path}: ${JSON.stringify(answer.body)}`);
  return answer.body;
}

/** Every `METHOD path-template` the OpenAPI document lists. */
async function documentedRoutes(api: TestApi): Promise<string[]> {
  const doc = await ok(api, 200, "GET", OPENAPI_PATH);
  return Object.entries(doc.paths as Record<string, Record<string, unknown>>)
    .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)).sort();
}

/** `METHOD route` pairs the request counter saw answered 2xx. */
function answered2xx(api: TestApi): Set<string> {
  const lines = api.plane.metrics.render().split("\n").filter((l) =>
    l.startsWith("ironclaw_api_requests_total{")
  );
  return new Set(lines.flatMap((l) => {
    const m = /method="([A-Z]+)",route="([^"]+)",status="2\d\d"/.exec(l);
    return m ? [`${m[1]} ${m[2]}`] : [];
  }));
}

Deno.test("every documented route answers its happy path with the shapes docs/api.md gives", async () => {
  await using api = await openTestApi({}, { mcpAllowHostProcess: true });

  assert.deepEqual(await ok(api, 200, "GET", "/healthz"), { status: "ok", version: "0.1.0" });
  assert.deepEqual(await ok(api, 200, "GET", "/readyz"), { status: "ready" });
  // The plane chooses its backend here for real (dev: runsc, else bwrap, else the process backend).
  const status = await ok(api, 200, "GET", "/v1/status");
  assert.equal(status.version, "0.1.0");
  assert.equal(status.isolator.weaker, status.isolator.kind === "process");
  assert.equal(status.isolator.label, (await api.plane.isolator()).label);
  assert.match(status.isolator.label, new RegExp(`^isolator ${status.isolator.kind} `));

  // Registry: agents.
  const group = await ok(api, 200, "PUT", "/v1/registry/agent-groups/research", {
    name: "Research",
    model: "claude-x",
    personaDocs: { soul: "Curious.\nCareful." },
    enabledTools: ["read_file", "send_message"],
  });
  assert.equal(group.id, "research");
  assert.equal(group.folder, "research");
  assert.deepEqual(group.personaDocs, { identity: "", soul: "Curious.\nCareful.", instructions: "" });
  assert.deepEqual(group.enabledTools, ["read_file", "send_message"]);
  const renamed = await ok(api, 200, "PUT", "/v1/registry/agent-groups/research", {
    id: "ignored",
    name: "Research 2",
  });
  assert.equal(renamed.id, "research", "the path id wins");
  assert.deepEqual(renamed.enabledTools, ["read_file", "send_message"], "a partial put keeps other fields");
  assert.deepEqual(
    (await ok(api, 200, "GET", "/v1/registry/agent-groups")).map((g: { id: string }) => g.id),
    [
      "demo",
      "research",
    ],
  );
  assert.equal((await ok(api, 200, "GET", "/v1/registry/agent-groups/research")).name, "Research 2");

  // Registry: chats.
  const mg = await ok(api, 200, "POST", "/v1/registry/messaging-groups", {
    channelType: "slack",
    platformId: "C1",
  });
  assert.deepEqual(
    { ...mg, id: undefined },
    {
      id: undefined,
      channelType: "slack",
      platformId: "C1",
      instance: "slack",
      isGroup: false,
      unknownSenderPolicy: "strict",
    },
  );
  assert.equal(
    (await ok(api, 200, "POST", "/v1/registry/messaging-groups", { channelType: "slack", platformId: "C1" }))
      .id,
    mg.id,
    "get or create",
  );
  assert.equal((await ok(api, 200, "GET", "/v1/registry/messaging-groups")).length, 1);
  assert.deepEqual(await ok(api, 200, "GET", `/v1/registry/messaging-groups/${mg.id}`), mg);
  const wiring = await ok(api, 201, "POST", "/v1/registry/wirings", {
    messagingGroupId: mg.id,
    agentGroupId: "research",
    engageMode: "pattern",
    engagePattern: "^hey",
    priority: 5,
  });
  assert.match(wiring.id, /^wr_/);
  assert.equal(wiring.senderScope, "known");
  const second = await ok(api, 201, "POST", "/v1/registry/wirings", {
    id: "w-demo",
    messagingGroupId: mg.id,
    agentGroupId: "demo",
    engageMode: "mention",
  });
  assert.deepEqual(
    (await ok(api, 200, "GET", `/v1/registry/messaging-groups/${mg.id}/wirings`)).map((w: { id: string }) =>
      w.id
    ),
    [wiring.id, second.id],
    "priority descending",
  );
  assert.equal((await ok(api, 200, "GET", "/v1/registry/wirings")).length, 2);
  assert.deepEqual(await ok(api, 200, "DELETE", "/v1/registry/wirings/w-demo"), { deleted: "w-demo" });
  assert.equal((await ok(api, 200, "GET", "/v1/registry/wirings")).length, 1);
  assert.deepEqual(
    await ok(api, 201, "POST", "/v1/registry/destinations", {
      agentGroupId: "research",
      channelType: "slack",
      platformId: "C-alerts",
      displayName: "alerts",
    }),
    { agentGroupId: "research", channelType: "slack", platformId: "C-alerts", displayName: "alerts" },
  );
  const check = "/v1/registry/destinations/check?agentGroupId=research&channelType=slack";
  assert.deepEqual(await ok(api, 200, "GET", `${check}&platformId=C-alerts`), { allowed: true });
  assert.deepEqual(await ok(api, 200, "GET", `${check}&platformId=C-other`), { allowed: false });

  // Registry: people.
  assert.deepEqual(await ok(api, 200, "PUT", "/v1/registry/users/slack:alice", { displayName: "Alice" }), {
    id: "slack:alice",
    kind: "human",
    displayName: "Alice",
  });
  assert.equal((await ok(api, 200, "GET", "/v1/registry/users/slack:alice")).displayName, "Alice");
  const access = (user: string) =>
    ok(api, 200, "GET", `/v1/registry/access?userId=${user}&agentGroupId=research`);
  assert.deepEqual(await access("slack:alice"), { allowed: false, reason: "no-access" });
  assert.deepEqual(
    await ok(api, 201, "POST", "/v1/registry/members", { userId: "slack:alice", agentGroupId: "research" }),
    {
      status: "added",
    },
  );
  assert.deepEqual(await access("slack:alice"), { allowed: true, reason: "member" });
  assert.deepEqual(
    await ok(api, 200, "POST", "/v1/registry/members/remove", {
      userId: "slack:alice",
      agentGroupId: "research",
    }),
    { status: "removed" },
  );
  assert.deepEqual(
    await ok(api, 201, "POST", "/v1/registry/roles", {
      userId: "slack:alice",
      role: "admin",
      agentGroupId: "research",
    }),
    { status: "granted" },
  );
  assert.deepEqual(await access("slack:alice"), { allowed: true, reason: "scoped-admin" });
  assert.deepEqual(
    await ok(api, 200, "POST", "/v1/registry/roles/revoke", {
      userId: "slack:alice",
      role: "admin",
      agentGroupId: "research",
    }),
    { status: "revoked" },
  );
  assert.deepEqual(await access("slack:alice"), { allowed: false, reason: "no-access" });

  // Registry: sessions (opened by the router, not the API).
  const session = api.plane.registry.resolveSession("research", mg.id, null, "shared");
  assert.deepEqual(await ok(api, 200, "GET", "/v1/registry/sessions"), [session]);
  assert.deepEqual(await ok(api, 200, "GET", "/v1/registry/sessions?agentGroupId=demo"), []);
  assert.deepEqual(await ok(api, 200, "GET", `/v1/registry/sessions/${session.id}`), session);

  // The gateway.
  const submitted = await ok(api, 202, "POST", "/v1/changes", {
    kind: "persona",
    agentGroupId: "research",
    requestedBy: "agent:research",
    after: { instructions: "Cite sources." },
  });
  assert.equal(submitted.status, "pending");
  assert.equal(submitted.verdict, "require-human");
  assert.deepEqual(Object.keys(submitted.request).sort(), [
    "after",
    "agentGroupId",
    "before",
    "createdAt",
    "id",
    "kind",
    "requestedBy",
  ]);
  assert.match(submitted.request.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const id = submitted.request.id;
  assert.deepEqual(await ok(api, 200, "GET", "/v1/changes/pending"), [submitted]);
  assert.deepEqual(await ok(api, 200, "GET", `/v1/changes/${id}`), submitted);
  assert.deepEqual(await ok(api, 200, "GET", "/v1/changes/history"), []);
  const approvals = await ok(api, 200, "GET", "/v1/ui/approvals");
  assert.deepEqual(approvals, [{
    id,
    kind: "persona",
    agentGroupId: "research",
    agentGroupName: "Research 2",
    requestedBy: "agent:research",
    createdAt: submitted.request.createdAt,
    reason: submitted.reason,
    before: submitted.request.before,
    after: { instructions: "Cite sources." },
  }]);
  const decided = await ok(api, 200, "POST", `/v1/changes/${id}/decision`, {
    outcome: "approve",
    decidedBy: "web:op",
  });
  assert.equal(decided.record.status, "applied");
  assert.equal(decided.record.decision.decidedBy, "web:op");
  assert.equal(decided.applyError, undefined);
  assert.equal(api.plane.registry.getAgentGroup("research").personaDocs.instructions, "Cite sources.");
  assert.deepEqual(await ok(api, 200, "GET", "/v1/changes/history"), [decided.record]);
  const viaConsole = await ok(api, 202, "POST", "/v1/ui/config/change", {
    kind: "enabled_tools",
    agentGroupId: "research",
    requestedBy: "web:op",
    after: { add: ["list_dir"] },
  });
  assert.equal(viaConsole.status, "pending");
  const config = await ok(api, 200, "GET", "/v1/ui/config/research");
  assert.equal(config.agentGroup.id, "research");
  assert.deepEqual(config.appliedChanges.map((r: { request: { id: string } }) => r.request.id), [id]);

  // Audit.
  const audit = await ok(api, 200, "GET", "/v1/audit?limit=5");
  assert.deepEqual(audit.map((e: { stage: string }) => e.stage), [
    "decision",
    "registry",
    "apply",
    "submit",
    "verdict",
  ]);
  // The applied change's registry write is in the chain under the change's id, before → after.
  assert.equal(audit[1].changeId, id);
  assert.match(
    audit[1].detail,
    /^change \S+ set-persona agent group research: .*"instructions":"Cite sources\."/,
  );
  // Every registry write before it too: the operator's own edits, each with an id of its own.
  const all = await ok(api, 200, "GET", "/v1/audit");
  const operatorWrites = all.filter((e: { detail?: string }) => e.detail?.startsWith("operator "));
  assert.ok(operatorWrites.length > 0);
  assert.ok(
    operatorWrites.every((e: { stage: string; changeId: string }) =>
      e.stage === "registry" && e.changeId.startsWith("reg_")
    ),
  );
  assert.equal(all.length, 6 + all.filter((e: { stage: string }) => e.stage === "registry").length);
  assert.equal((await ok(api, 200, "GET", "/v1/ui/audit?limit=2")).length, 2);
  const verified = await ok(api, 200, "GET", "/v1/audit/verify");
  assert.deepEqual(verified, {
    ok: true,
    lines: all.length,
    head: audit.at(-1).hash,
    legacyLines: 0,
    anchored: true,
  });
  // Backup: the still-encrypted snapshot file itself (src/backup and cli/backup_test.ts test its content).
  const backup = await api.call("POST", "/v1/backup");
  assert.equal(backup.status, 200);
  assert.equal(backup.headers.get("content-type"), "application/vnd.ironclaw.backup");
  assert.match(String(backup.body), /^IRONCLAW-BACKUP\/1 [0-9a-f]{64}\n\{"format":"ironclaw-backup"/);

  // Console views.
  assert.deepEqual((await ok(api, 200, "GET", "/v1/ui/agents"))[1], {
    id: "research",
    name: "Research 2",
    folder: "research",
    provider: null,
    model: "claude-x",
    tools: ["read_file", "send_message"],
    sessions: 1,
    destinations: 1,
  });
  const tools = await ok(api, 200, "GET", "/v1/ui/tools");
  assert.ok(
    tools.some((t: { name: string; mandatory: boolean }) => t.name === "ask_user_question" && t.mandatory),
  );
  const templates = await ok(api, 200, "GET", "/v1/ui/templates");
  assert.deepEqual(templates.map((t: { id: string }) => t.id), [
    "blank",
    "assistant",
    "researcher",
    "reminders",
    "triage",
  ]);
  assert.deepEqual(Object.keys(templates[1]).sort(), ["description", "id", "name", "personaDocs", "tools"]);
  assert.deepEqual(
    (await ok(api, 200, "GET", "/v1/ui/persona-sections")).map((s: { filename: string }) => s.filename),
    [
      "IDENTITY.md",
      "SOUL.md",
      "AGENTS.md",
    ],
  );
  assert.deepEqual(await ok(api, 200, "GET", "/v1/ui/messaging-groups"), [{ ...mg, wirings: 1 }]);
  assert.deepEqual(await ok(api, 200, "GET", "/v1/ui/sessions"), [{
    id: session.id,
    agentGroupId: "research",
    agentGroupName: "Research 2",
    messagingGroupId: mg.id,
    containerStatus: "new",
    lastActive: session.lastActive,
  }]);

  // Web chat, questions and parked sessions. No sandbox starts: the console is not a member of research.
  // A provider no agent knows is refused, naming the known ones.
  const unknown = await api.call("PUT", "/v1/registry/agent-groups/research", {
    body: { name: "Research 2", provider: "nowhere" },
  });
  assert.equal(unknown.status, 400);
  assert.match(
    JSON.stringify(unknown.body),
    /unknown provider \\"nowhere\\": the known providers are anthropic, openai/,
  );
  // A group stored before providers were checked still names one: its launches fail before any isolator runs.
  api.plane.state.db.run("UPDATE agent_groups SET provider = 'nowhere' WHERE id = 'research'");
  const sent = await ok(api, 202, "POST", "/v1/ui/chat/send", { agentGroupId: "research", text: "hello" });
  assert.equal(sent.chatId, "research");
  assert.equal(sent.engaged, false);
  assert.equal(sent.outcomes[0].kind, "access-denied");
  assert.deepEqual(await ok(api, 200, "GET", "/v1/ui/chat/drain?chatId=research&wait=1"), {
    chatId: "research",
    messages: [],
  });
  api.plane.questions.record({
    id: "q_1",
    sessionId: session.id,
    agentGroupId: session.agentGroupId,
    question: "Which one?",
    options: ["a", "b"],
  });
  assert.deepEqual((await ok(api, 200, "GET", "/v1/questions")).map((q: { id: string }) => q.id), ["q_1"]);
  const answered = await ok(api, 200, "POST", "/v1/questions/q_1/answer", { answer: "a", answeredBy: "me" });
  assert.equal(answered.question.answer, "a");
  assert.match(answered.wakeError, /provider "nowhere"/);
  for (let i = 0; i < 4; i++) api.plane.backoff.failure(session.id, "test");
  assert.deepEqual(
    (await ok(api, 200, "GET", "/v1/sessions/parked")).map((p: { sessionId: string }) => p.sessionId),
    [
      session.id,
    ],
  );
  const unparked = await ok(api, 200, "POST", `/v1/sessions/${session.id}/unpark`);
  assert.equal(unparked.status, "unparked");
  assert.match(unparked.wakeError, /provider "nowhere"/);
  const listed = await ok(api, 200, "GET", `/v1/sessions?agentGroupId=research`);
  assert.deepEqual(listed.map((s: { id: string }) => s.id), [session.id]);
  const shown = await ok(api, 200, "GET", `/v1/sessions/${session.id}`);
  assert.equal(shown.running, false);
  assert.equal(shown.logPath, null);
  assert.deepEqual(await ok(api, 200, "POST", `/v1/sessions/${session.id}/stop`), {
    id: session.id,
    status: "stopped",
  });

  // Scheduled tasks, as the operator sees and cancels them (an agent's schedule_task writes the same row).
  api.plane.tasks.create({
    id: "tsk_app",
    sessionId: session.id,
    prompt: "Check the feed",
    runAt: new Date(Date.now() + 3_600_000).toISOString(),
    recurrence: "daily",
  });
  const tasks = await ok(api, 200, "GET", "/v1/tasks?agentGroupId=research");
  assert.deepEqual(tasks.map((t: { id: string; state: string }) => [t.id, t.state]), [["tsk_app", "active"]]);
  const cancelledTask = await ok(api, 200, "POST", "/v1/tasks/tsk_app/cancel");
  assert.equal(cancelledTask.state, "cancelled");
  assert.deepEqual(await ok(api, 200, "GET", "/v1/tasks"), []);

  // The session's workspace files, read for the operator.
  const workspace = await api.plane.sandboxes.workspaceDir(session.id, session.agentGroupId);
  await Deno.mkdir(workspace, { recursive: true }); // a launch makes it; no sandbox starts here
  await Deno.writeTextFile(`${workspace}/notes.txt`, "from the agent");
  const files = await ok(api, 200, "GET", `/v1/sessions/${session.id}/files`);
  assert.deepEqual(files.entries.map((e: { path: string; type: string }) => [e.path, e.type]), [[
    "notes.txt",
    "file",
  ]]);
  const content = await api.call("GET", `/v1/sessions/${session.id}/files/content?path=notes.txt`);
  assert.equal(content.status, 200);
  assert.equal(content.headers.get("content-type"), "application/octet-stream");
  assert.equal(String(content.body), "from the agent");

  // The vault: the value goes in, never comes out.
  assert.deepEqual(await ok(api, 200, "PUT", "/v1/vault/secrets/github", { value: "ghp_app-test" }), {
    name: "github",
    rotated: false,
  });
  const secrets = await ok(api, 200, "GET", "/v1/vault/secrets");
  assert.deepEqual(secrets.map((s: { name: string; grants: unknown[] }) => [s.name, s.grants]), [[
    "github",
    [],
  ]]);
  assert.doesNotMatch(JSON.stringify(secrets), /ghp_app-test/);
  assert.deepEqual(await ok(api, 200, "DELETE", "/v1/vault/secrets/github"), { name: "github" });

  // Egress hosts: approved through the gateway, revoked directly.
  api.plane.egress.hosts.allow("research", ["api.example.com"], "chg_app_test" as ChangeId);
  assert.deepEqual(await ok(api, 200, "GET", "/v1/egress/research/hosts"), {
    agentGroupId: "research",
    hosts: ["api.example.com"],
  });
  assert.deepEqual(await ok(api, 200, "DELETE", "/v1/egress/research/hosts/api.example.com"), {
    agentGroupId: "research",
    hosts: [],
  });

  // The console's one-time sign-in link.
  const link = await ok(api, 201, "POST", "/v1/console/links");
  assert.match(link.path, /^\/ui\/login\?code=[0-9a-f]{64}$/);
  // MCP: registered through the gateway; a grant's proposal records the tools as offered, to show and pin.
  const sample = new URL("../mcp/sample/server.ts", import.meta.url).pathname;
  const registered = await ok(api, 202, "POST", "/v1/mcp/servers", {
    server: { name: "sample", transport: "stdio", command: Deno.execPath(), args: ["run", "-A", sample] },
    requestedBy: "web:op",
  });
  await ok(api, 200, "POST", `/v1/changes/${registered.request.id}/decision`, {
    outcome: "approve",
    decidedBy: "web:op",
  });
  const servers = await ok(api, 200, "GET", "/v1/mcp/servers");
  assert.deepEqual(servers.map((s: { name: string; envNames: string[] }) => [s.name, s.envNames]), [[
    "sample",
    [],
  ]]);
  const offered = await ok(api, 200, "GET", "/v1/mcp/servers/sample/tools");
  assert.deepEqual(offered.tools.map((t: { name: string }) => t.name), ["add", "echo", "slow"]);
  const grant = await ok(api, 202, "POST", "/v1/mcp/servers/sample/grants", {
    agentGroupId: "research",
    tools: ["echo"],
    requestedBy: "web:op",
  });
  assert.deepEqual(grant.request.after, { server: "sample", tools: ["echo"] });
  // What the approver is shown (and the approval pins): the granted tool, as offered.
  assert.deepEqual(await ok(api, 200, "GET", `/v1/mcp/offers/${grant.request.id}`), {
    server: "sample",
    tools: offered.tools.filter((t: { name: string }) => t.name === "echo"),
  });
  await ok(api, 200, "POST", `/v1/changes/${grant.request.id}/decision`, {
    outcome: "approve",
    decidedBy: "web:op",
  });
  const granted = await ok(api, 200, "GET", "/v1/mcp/grants/research");
  assert.deepEqual(granted.tools.map((t: { tool: string; state: string }) => [t.tool, t.state]), [[
    "echo",
    "live",
  ]]);
  assert.deepEqual(await ok(api, 200, "DELETE", "/v1/mcp/servers/sample"), { name: "sample" });

  // Usage: what the model proxy counted, and the budget an approved change set.
  api.plane.usage.record(session.id, { model: "mock-agent", inputTokens: 30, outputTokens: 12 });
  api.plane.usage.budgets!.set("research", { dailyTokens: 1000 }, "chg_app_test" as ChangeId);
  const usage = await ok(api, 200, "GET", "/v1/usage?agent=research&days=1");
  assert.deepEqual(usage.rows.map((r: { model: string; inputTokens: number }) => [r.model, r.inputTokens]), [[
    "mock-agent",
    30,
  ]]);
  assert.deepEqual(usage.budgets, [{
    agentGroupId: "research",
    dailyTokens: 1000,
    dailyUsd: null,
    changeId: "chg_app_test",
  }]);

  // Metrics, then deleting the agent.
  const metrics = await api.call("GET", "/metrics");
  assert.equal(metrics.status, 200);
  assert.match(metrics.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
  assert.match(metrics.body, /ironclaw_gateway_decisions_total\{decision="approved"\} 3/);
  assert.deepEqual(await ok(api, 200, "DELETE", "/v1/registry/agent-groups/research"), {
    deleted: "research",
    sessions: [session.id],
  });
  assert.equal((await api.call("GET", "/v1/registry/agent-groups/research")).status, 404);

  const missed = (await documentedRoutes(api)).filter((r) => !answered2xx(api).has(r));
  assert.deepEqual(missed, [], "every documented route was exercised with a 2xx answer");
});

Deno.test("a rejection is recorded, applies nothing, and a verifier's rejection comes back as a 202 record", async () => {
  await using api = await openTestApi();
  const before = api.plane.registry.getAgentGroup("demo");
  const pending = await ok(api, 202, "POST", "/v1/changes", {
    kind: "persona",
    agentGroupId: "demo",
    requestedBy: "agent:demo",
    after: { soul: "grumpy" },
  });
  const rejected = await ok(api, 200, "POST", `/v1/changes/${pending.request.id}/decision`, {
    outcome: "reject",
    decidedBy: "web:op",
  });
  assert.equal(rejected.record.status, "rejected");
  assert.deepEqual(api.plane.registry.getAgentGroup("demo"), before);

  // Well-formed, but outside the mount allowlist: the verifier's call, recorded and audited.
  const outside = await ok(api, 202, "POST", "/v1/changes", {
    kind: "mounts",
    agentGroupId: "demo",
    requestedBy: "agent:demo",
    after: [{ source: "/etc" }],
  });
  assert.equal(outside.status, "rejected");
  assert.match(outside.reason, /outside the allowed prefixes/);
  // packages: the sealed agent runs no programs, so the kind is refused at submit with that reason.
  const packages = await api.call("POST", "/v1/changes", {
    body: { kind: "packages", agentGroupId: "demo", requestedBy: "web:op", after: { apt: ["ripgrep"] } },
  });
  assert.equal(packages.status, 400);
  assert.match(
    JSON.stringify(packages.body),
    /the sealed agent runs no programs, so there is nothing to install/,
  );
  assert.deepEqual(await ok(api, 200, "GET", "/v1/changes/pending"), []);
});

Deno.test("create_agent targets the id its payload derives, and a known id is idempotent", async () => {
  await using api = await openTestApi();
  const body = {
    id: "chg_fixed1",
    kind: "create_agent",
    agentGroupId: "night-owl",
    requestedBy: "agent:demo",
    after: { name: "Night Owl" },
  };
  const first = await ok(api, 202, "POST", "/v1/changes", body);
  assert.equal(first.status, "pending");
  assert.deepEqual(
    await ok(api, 202, "POST", "/v1/changes", body),
    first,
    "resubmitting an id returns it unchanged",
  );
  const decided = await ok(api, 200, "POST", "/v1/changes/chg_fixed1/decision", {
    outcome: "approve",
    decidedBy: "web:op",
  });
  assert.equal(decided.record.status, "applied");
  assert.equal((await ok(api, 200, "GET", "/v1/registry/agent-groups/night-owl")).name, "Night Owl");
});
