import assert from "node:assert/strict";
import { type CallOptions, openTestApi, type TestApi } from "../../tests/support/api.ts";

const MiB = "x".repeat(1024 * 1024);
const persona = (after: unknown) => ({
  kind: "persona",
  agentGroupId: "demo",
  requestedBy: "agent:demo",
  after,
});
const mounts = (after: unknown) => ({
  kind: "mounts",
  agentGroupId: "demo",
  requestedBy: "agent:demo",
  after,
});

interface Case {
  name: string;
  method: string;
  path: string;
  options: CallOptions;
  status: number;
  error: RegExp;
}

const json = (body: unknown): CallOptions => ({ body });
const raw = (text: string, contentType?: string): CallOptions => ({
  raw: text,
  headers: contentType ? { "content-type": contentType } : {},
});

const CASES: Case[] = [
  // Not JSON, or not declared as JSON.
  {
    name: "malformed JSON",
    method: "POST",
    path: "/v1/changes",
    options: raw('{"kind":', "application/json"),
    status: 400,
    error: /^malformed JSON in request body$/,
  },
  {
    name: "empty body",
    method: "POST",
    path: "/v1/changes",
    options: raw("", "application/json"),
    status: 400,
    error: /^malformed JSON/,
  },
  {
    name: "body without a content type",
    method: "POST",
    path: "/v1/changes",
    options: raw("{}"),
    status: 415,
    error: /^content-type must be application\/json$/,
  },
  {
    name: "text/plain body",
    method: "POST",
    path: "/v1/changes",
    options: raw("{}", "text/plain"),
    status: 415,
    error: /content-type/,
  },
  {
    name: "JSON nested 100k deep",
    method: "POST",
    path: "/v1/changes",
    options: raw(`{"after":${"[".repeat(100_000)}${"]".repeat(100_000)}}`, "application/json"),
    status: 400,
    error: /^body: JSON nested deeper than 32 levels$/,
  },
  // Types, enums, ranges, unknown fields.
  {
    name: "kind of the wrong type",
    method: "POST",
    path: "/v1/changes",
    options: json({ ...persona({ soul: "x" }), kind: 5 }),
    status: 400,
    error: /^kind: Invalid option: expected one of "persona"/,
  },
  {
    name: "unknown kind",
    method: "POST",
    path: "/v1/changes",
    options: json({ ...persona({ soul: "x" }), kind: "self_edit" }),
    status: 400,
    error: /^kind: Invalid option/,
  },
  {
    name: "missing requestedBy",
    method: "POST",
    path: "/v1/changes",
    options: json({ kind: "persona", agentGroupId: "demo", after: { soul: "x" } }),
    status: 400,
    error: /^requestedBy: /,
  },
  {
    name: "unknown top-level field",
    method: "POST",
    path: "/v1/changes",
    options: json({ ...persona({ soul: "x" }), status: "applied" }),
    status: 400,
    error: /^status: unknown field$/,
  },
  {
    name: "unknown payload field",
    method: "POST",
    path: "/v1/changes",
    options: json(persona({ soul: "x", mood: "y" })),
    status: 400,
    error: /^after\.mood: unknown field$/,
  },
  {
    name: "payload of the wrong shape",
    method: "POST",
    path: "/v1/changes",
    options: json({ ...persona({}), kind: "enabled_tools", after: "all" }),
    status: 400,
    error: /^after: enabled_tools payload: /,
  },
  {
    name: "oversized persona document",
    method: "POST",
    path: "/v1/changes",
    options: json(persona({ soul: "y".repeat(4096) })),
    status: 400,
    error: /^after\.soul: persona payload: a persona document may hold at most 2048 bytes$/,
  },
  {
    name: "unknown target agent",
    method: "POST",
    path: "/v1/changes",
    options: json({ ...persona({ soul: "x" }), agentGroupId: "ghost" }),
    status: 400,
    error: /^agentGroupId: agent group "ghost" not found$/,
  },
  {
    name: "unsafe agent id",
    method: "POST",
    path: "/v1/changes",
    options: json({ ...persona({ soul: "x" }), agentGroupId: "../etc" }),
    status: 400,
    error: /^agentGroupId: agent group id must be/,
  },
  {
    name: "create_agent for another id",
    method: "POST",
    path: "/v1/changes",
    options: json({
      kind: "create_agent",
      agentGroupId: "other",
      requestedBy: "agent:demo",
      after: { name: "Night Owl" },
    }),
    status: 400,
    error: /^agentGroupId: must be "night-owl"/,
  },
  {
    name: "create_agent with a traversing folder",
    method: "POST",
    path: "/v1/changes",
    options: json({
      kind: "create_agent",
      agentGroupId: "x",
      requestedBy: "agent:demo",
      after: { name: "x", folder: "../x" },
    }),
    status: 400,
    error: /^after\.folder: create_agent payload: folder holds/,
  },
  // 1 MiB strings: over the body cap.
  {
    name: "1 MiB requestedBy",
    method: "POST",
    path: "/v1/changes",
    options: json({ ...persona({ soul: "x" }), requestedBy: MiB }),
    status: 413,
    error: /^request body is over the 262144-byte limit$/,
  },
  {
    name: "1 MiB persona document",
    method: "POST",
    path: "/v1/changes",
    options: json(persona({ soul: MiB })),
    status: 413,
    error: /over the 262144-byte limit/,
  },
  {
    name: "1 MiB agent name",
    method: "PUT",
    path: "/v1/registry/agent-groups/demo",
    options: json({ name: MiB }),
    status: 413,
    error: /over the/,
  },
  // Control characters.
  {
    name: "NUL in requestedBy",
    method: "POST",
    path: "/v1/changes",
    options: json({ ...persona({ soul: "x" }), requestedBy: "agent:\u0000demo" }),
    status: 400,
    error: /^requestedBy: /,
  },
  {
    name: "newline in decidedBy",
    method: "POST",
    path: "/v1/changes/chg_x/decision",
    options: json({ outcome: "approve", decidedBy: "web:op\nforged line" }),
    status: 400,
    error: /^decidedBy: must be one line/,
  },
  {
    name: "ANSI escape in a persona document",
    method: "POST",
    path: "/v1/changes",
    options: json(persona({ soul: "calm\u001b[2J" })),
    status: 400,
    error: /^after\.soul: control characters are not allowed$/,
  },
  {
    name: "control character in a payload key",
    method: "POST",
    path: "/v1/changes",
    options: json(persona({ "so\u0007ul": "x" })),
    status: 400,
    error: /unknown field|control characters/,
  },
  {
    name: "C1 control in a model name",
    method: "PUT",
    path: "/v1/registry/agent-groups/demo",
    options: json({ name: "Demo", model: "m\u009bx" }),
    status: 400,
    error: /^model: control characters are not allowed$/,
  },
  // Path traversal: mounts, folders, persona documents, path ids.
  {
    name: "mount source with ../",
    method: "POST",
    path: "/v1/changes",
    options: json(mounts([{ source: "/srv/ok/../../etc" }])),
    status: 400,
    error: /^after: mounts payload: mount sources must be absolute paths without '\.\.'/,
  },
  {
    name: "relative mount source",
    method: "POST",
    path: "/v1/changes",
    options: json(mounts([{ source: "srv/data" }])),
    status: 400,
    error: /^after: mounts payload: /,
  },
  {
    name: "mount name with ../",
    method: "POST",
    path: "/v1/changes",
    options: json(mounts([{ source: "/srv/ok", name: "../etc" }])),
    status: 400,
    error: /mount name is 1-64 letters/,
  },
  {
    name: "mount with a control character",
    method: "POST",
    path: "/v1/changes",
    options: json(mounts([{ source: "/srv/ok\u0000" }])),
    status: 400,
    error: /^after\.0\.source: control characters|absolute paths/,
  },
  {
    name: "agent folder ../",
    method: "PUT",
    path: "/v1/registry/agent-groups/demo",
    options: json({ name: "Demo", folder: "../escape" }),
    status: 400,
    error: /^folder: /,
  },
  {
    name: "agent folder a/b",
    method: "PUT",
    path: "/v1/registry/agent-groups/demo",
    options: json({ name: "Demo", folder: "a/b" }),
    status: 400,
    error: /^folder: folders hold letters/,
  },
  {
    name: "persona document named like a path",
    method: "PUT",
    path: "/v1/registry/agent-groups/demo",
    options: json({ name: "Demo", personaDocs: { "../SOUL.md": "x" } }),
    status: 400,
    error: /^personaDocs\.\.\.\/SOUL\.md: unknown field$/,
  },
  {
    name: "persona-dir file name as a key",
    method: "PUT",
    path: "/v1/registry/agent-groups/demo",
    options: json({ name: "Demo", personaDocs: { "IDENTITY.md": "x" } }),
    status: 400,
    error: /unknown field/,
  },
  {
    name: "oversized persona document (direct)",
    method: "PUT",
    path: "/v1/registry/agent-groups/demo",
    options: json({ name: "Demo", personaDocs: { identity: "é".repeat(1025) } }),
    status: 400,
    error: /^personaDocs\.identity: a persona document may hold at most 2048 bytes$/,
  },
  {
    name: "traversing agent id in the path",
    method: "PUT",
    path: "/v1/registry/agent-groups/..%2F..%2Fetc",
    options: json({ name: "x" }),
    status: 400,
    error: /^id: agent group id must be/,
  },
  {
    name: "traversing change id in the path",
    method: "GET",
    path: "/v1/changes/..%2Fkeys",
    options: {},
    status: 400,
    error: /^id: change id must be/,
  },
  // Registry inputs.
  {
    name: "unknown tool name format",
    method: "PUT",
    path: "/v1/registry/agent-groups/demo",
    options: json({ name: "Demo", enabledTools: ["Read File"] }),
    status: 400,
    error: /^enabledTools\.0: tool names are lower_snake_case$/,
  },
  {
    name: "bad unknown-sender policy",
    method: "POST",
    path: "/v1/registry/messaging-groups",
    options: json({ channelType: "slack", platformId: "C1", unknownSenderPolicy: "anyone" }),
    status: 400,
    error: /^unknownSenderPolicy: Invalid option/,
  },
  {
    name: "priority out of range",
    method: "POST",
    path: "/v1/registry/wirings",
    options: json({ messagingGroupId: "mg_x", agentGroupId: "demo", engageMode: "mention", priority: 1e9 }),
    status: 400,
    error: /^priority: /,
  },
  {
    name: "pattern wiring with a broken pattern",
    method: "POST",
    path: "/v1/registry/wirings",
    options: json({
      messagingGroupId: "mg_x",
      agentGroupId: "demo",
      engageMode: "pattern",
      engagePattern: "(",
    }),
    status: 400,
    error: /^engagePattern: pattern wirings need/,
  },
  {
    name: "wiring to an unknown chat",
    method: "POST",
    path: "/v1/registry/wirings",
    options: json({ messagingGroupId: "mg_ghost", agentGroupId: "demo", engageMode: "mention" }),
    status: 400,
    error: /^messagingGroupId: messaging group "mg_ghost" not found$/,
  },
  {
    name: "member of an unknown agent",
    method: "POST",
    path: "/v1/registry/members",
    options: json({ userId: "slack:bob", agentGroupId: "ghost" }),
    status: 400,
    error: /^agentGroupId: agent group "ghost" not found$/,
  },
  {
    name: "un-namespaced user id",
    method: "POST",
    path: "/v1/registry/members",
    options: json({ userId: "bob", agentGroupId: "demo" }),
    status: 400,
    error: /^userId: user id must be/,
  },
  {
    name: "scoped owner",
    method: "POST",
    path: "/v1/registry/roles",
    options: json({ userId: "slack:bob", role: "owner", agentGroupId: "demo" }),
    status: 400,
    error: /^agentGroupId: owner is a global role/,
  },
  {
    name: "destination for an unknown agent",
    method: "POST",
    path: "/v1/registry/destinations",
    options: json({ agentGroupId: "ghost", channelType: "slack", platformId: "C1" }),
    status: 400,
    error: /^agentGroupId: /,
  },
  {
    name: "user kind unknown",
    method: "PUT",
    path: "/v1/registry/users/slack:bob",
    options: json({ kind: "robot" }),
    status: 400,
    error: /^kind: Invalid option/,
  },
  {
    name: "decision outcome unknown",
    method: "POST",
    path: "/v1/changes/chg_x/decision",
    options: json({ outcome: "maybe", decidedBy: "web:op" }),
    status: 400,
    error: /^outcome: Invalid option: expected one of "approve"\|"reject"$/,
  },
  {
    name: "config change of a kind the console may not propose",
    method: "POST",
    path: "/v1/ui/config/change",
    options: json({ kind: "create_agent", agentGroupId: "x", requestedBy: "web:op", after: { name: "x" } }),
    status: 400,
    error: /^kind: Invalid option/,
  },
  // Query strings.
  {
    name: "audit limit 0",
    method: "GET",
    path: "/v1/audit?limit=0",
    options: {},
    status: 400,
    error: /^limit: /,
  },
  {
    name: "audit limit 2001",
    method: "GET",
    path: "/v1/ui/audit?limit=2001",
    options: {},
    status: 400,
    error: /^limit: /,
  },
  {
    name: "audit limit not a number",
    method: "GET",
    path: "/v1/audit?limit=all",
    options: {},
    status: 400,
    error: /^limit: /,
  },
  {
    name: "sessions of an unknown agent",
    method: "GET",
    path: "/v1/registry/sessions?agentGroupId=ghost",
    options: {},
    status: 400,
    error: /^agentGroupId: agent group "ghost" not found$/,
  },
  {
    name: "access check without a user",
    method: "GET",
    path: "/v1/registry/access?agentGroupId=demo",
    options: {},
    status: 400,
    error: /^userId: /,
  },
];

async function expectRefused(api: TestApi, c: Case): Promise<void> {
  const before = await api.snapshot();
  const answer = await api.call(c.method, c.path, c.options);
  assert.equal(answer.status, c.status, `${c.name}: ${JSON.stringify(answer.body).slice(0, 300)}`);
  assert.deepEqual(Object.keys(answer.body), ["error"], c.name);
  assert.match(answer.body.error, c.error, c.name);
  assert.doesNotMatch(answer.body.error, /\n|\bat \S+:\d+/, `${c.name}: one line, no stack`);
  assert.equal(await api.snapshot(), before, `${c.name}: state unchanged`);
}

Deno.test("malformed requests get a one-line 4xx naming the field, and change nothing", async (t) => {
  await using api = await openTestApi();
  // Something pending, so "unchanged" has content to compare.
  await api.call("POST", "/v1/changes", { body: persona({ soul: "x" }) });
  for (const c of CASES) await t.step(c.name, () => expectRefused(api, c));
});

Deno.test("404 for unknown ids in the path, 409 for conflicts; state unchanged", async (t) => {
  await using api = await openTestApi();
  const pending = (await api.call("POST", "/v1/changes", { body: persona({ soul: "x" }) })).body;
  const decided = (await api.call("POST", "/v1/changes", { body: persona({ soul: "y" }) })).body;
  const first = await api.call("POST", `/v1/changes/${decided.request.id}/decision`, {
    body: { outcome: "reject", decidedBy: "web:op" },
  });
  assert.equal(first.status, 200);
  await api.call("PUT", "/v1/registry/agent-groups/other", { body: { name: "Other", folder: "other" } });
  assert.equal(pending.status, "pending");

  const cases: Case[] = [
    {
      name: "unknown change",
      method: "GET",
      path: "/v1/changes/chg_nope",
      options: {},
      status: 404,
      error: /^change "chg_nope" not found$/,
    },
    {
      name: "decision on an unknown change",
      method: "POST",
      path: "/v1/changes/chg_nope/decision",
      options: json({ outcome: "approve", decidedBy: "web:op" }),
      status: 404,
      error: /not found/,
    },
    {
      name: "second decision",
      method: "POST",
      path: `/v1/changes/${decided.request.id}/decision`,
      options: json({ outcome: "approve", decidedBy: "web:op" }),
      status: 409,
      error: /^cannot decide change chg_\w+: it is rejected$/,
    },
    {
      name: "folder already used",
      method: "PUT",
      path: "/v1/registry/agent-groups/demo",
      options: json({ name: "Demo", folder: "other" }),
      status: 409,
      error: /^folder "other" already belongs to agent other$/,
    },
    {
      name: "create_agent of an existing agent",
      method: "POST",
      path: "/v1/changes",
      options: json({
        kind: "create_agent",
        agentGroupId: "other",
        requestedBy: "agent:demo",
        after: { name: "Other" },
      }),
      status: 409,
      error: /^agent group "other" already exists$/,
    },
    {
      name: "unknown agent group",
      method: "GET",
      path: "/v1/registry/agent-groups/ghost",
      options: {},
      status: 404,
      error: /^agent group "ghost" not found$/,
    },
    {
      name: "delete unknown agent group",
      method: "DELETE",
      path: "/v1/registry/agent-groups/ghost",
      options: {},
      status: 404,
      error: /not found/,
    },
    {
      name: "unknown messaging group",
      method: "GET",
      path: "/v1/registry/messaging-groups/mg_ghost",
      options: {},
      status: 404,
      error: /not found/,
    },
    {
      name: "wirings of an unknown messaging group",
      method: "GET",
      path: "/v1/registry/messaging-groups/mg_ghost/wirings",
      options: {},
      status: 404,
      error: /not found/,
    },
    {
      name: "delete unknown wiring",
      method: "DELETE",
      path: "/v1/registry/wirings/wr_ghost",
      options: {},
      status: 404,
      error: /^wiring "wr_ghost" not found$/,
    },
    {
      name: "unknown user",
      method: "GET",
      path: "/v1/registry/users/slack:ghost",
      options: {},
      status: 404,
      error: /not found/,
    },
    {
      name: "unknown session",
      method: "GET",
      path: "/v1/registry/sessions/ses_ghost",
      options: {},
      status: 404,
      error: /not found/,
    },
    {
      name: "config of an unknown agent",
      method: "GET",
      path: "/v1/ui/config/ghost",
      options: {},
      status: 404,
      error: /not found/,
    },
    {
      name: "unknown route",
      method: "GET",
      path: "/v1/nothing",
      options: {},
      status: 404,
      error: /^no such route$/,
    },
  ];
  for (const c of cases) await t.step(c.name, () => expectRefused(api, c));
  assert.deepEqual(
    (await api.call("GET", "/v1/changes/pending")).body.map((r: { request: { id: string } }) => r.request.id),
    [
      pending.request.id,
    ],
  );
});

Deno.test("of two racing decisions exactly one lands; the other is a 409", async () => {
  await using api = await openTestApi();
  const { body } = await api.call("POST", "/v1/changes", { body: persona({ soul: "x" }) });
  const answers = await Promise.all(
    ["approve", "reject"].map((outcome) =>
      api.call("POST", `/v1/changes/${body.request.id}/decision`, { body: { outcome, decidedBy: "web:op" } })
    ),
  );
  assert.deepEqual(answers.map((a) => a.status).sort(), [200, 409]);
  const audit = (await api.call("GET", "/v1/audit")).body as { stage: string }[];
  assert.equal(audit.filter((e) => e.stage === "decision").length, 1);
});
