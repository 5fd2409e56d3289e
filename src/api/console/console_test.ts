import assert from "node:assert/strict";
import { openTestApi, TEST_TOKEN, type TestApi } from "../../../tests/support/api.ts";
import { AgentGroupId } from "../../../contract/ids.ts";
import { keptReportPath, NOT_PROVEN, reportProbe, signReport, VERIFY_REPORTS_DIR } from "../../verify/mod.ts";
import { changeDiff, CONSOLE_ACTOR, CONSOLE_CSP, diffLines, valueLines } from "./mod.ts";

const HOST = "127.0.0.1:8787";
const MCP_SAMPLE = new URL("../../mcp/sample/server.ts", import.meta.url).pathname;
const ORIGIN = `http://${HOST}`;

/** One request to the console as a browser on this origin would send it (no bearer token). */
async function browse(
  api: TestApi,
  method: string,
  path: string,
  options: { cookie?: string; form?: Record<string, string>; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { host: HOST, ...options.headers };
  if (options.cookie) headers.cookie = options.cookie;
  if (method === "POST") headers.origin ??= ORIGIN;
  const body = options.form ? new URLSearchParams(options.form) : undefined;
  const response = await api.app.fetch(new Request(`${ORIGIN}${path}`, { method, headers, body }));
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** Signs in with the token; returns the cookie header value and the page's CSRF token. */
async function signIn(api: TestApi) {
  const answer = await browse(api, "POST", "/ui/login", { form: { token: TEST_TOKEN } });
  assert.equal(answer.status, 303, answer.text);
  const cookie = answer.headers.get("set-cookie")!.split(";")[0];
  const page = await browse(api, "GET", "/ui/approvals", { cookie });
  const csrf = /name="_csrf" value="([0-9a-f]+)"/.exec(page.text)?.[1];
  assert.ok(csrf, "the page carries a CSRF token");
  return { cookie, csrf };
}

async function pendingPersona(api: TestApi) {
  const record = await api.plane.gateway.submit({
    kind: "persona",
    agentGroupId: AgentGroupId.parse("demo"),
    requestedBy: "agent:demo",
    after: { instructions: "Answer in French." },
  });
  assert.equal(record.status, "pending");
  return record.request.id;
}

Deno.test("the console signs in with the token into an HttpOnly SameSite=Strict cookie, and every page carries the CSP", async () => {
  await using api = await openTestApi({ allowedHosts: ["127.0.0.1", "localhost"] });

  const anonymous = await browse(api, "GET", "/ui/approvals");
  assert.equal(anonymous.status, 303);
  assert.equal(anonymous.headers.get("location"), "/ui/login");
  assert.equal(anonymous.headers.get("content-security-policy"), CONSOLE_CSP);
  assert.match(CONSOLE_CSP, /frame-ancestors 'none'/);
  assert.doesNotMatch(CONSOLE_CSP, /unsafe-inline|unsafe-eval|\*/);

  const login = await browse(api, "GET", "/ui/login");
  assert.equal(login.status, 200);
  assert.equal(login.headers.get("x-frame-options"), "DENY");
  assert.doesNotMatch(login.text, /<script>|\son\w+=/, "no inline script or handler");

  const wrong = await browse(api, "POST", "/ui/login", { form: { token: "not-the-token" } });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.headers.get("set-cookie"), null);

  const right = await browse(api, "POST", "/ui/login", { form: { token: TEST_TOKEN } });
  assert.equal(right.status, 303);
  const setCookie = right.headers.get("set-cookie")!;
  assert.match(setCookie, /^ironclaw_console=[0-9a-f]{64};/);
  assert.match(setCookie, /HttpOnly/);
  assert.match(setCookie, /SameSite=Strict/);
  assert.match(setCookie, /Path=\/ui/);
  assert.ok(!setCookie.includes(TEST_TOKEN), "the token itself never becomes the cookie");

  // The cookie opens the console, not the API.
  const cookie = setCookie.split(";")[0];
  assert.equal((await browse(api, "GET", "/ui/approvals", { cookie })).status, 200);
  assert.equal((await browse(api, "GET", "/v1/changes/pending", { cookie })).status, 401);
  assert.equal((await browse(api, "GET", "/uiv1", { cookie })).status, 401, "only /ui and /ui/* are open");
});

Deno.test("approving from the console applies the change; a form without the CSRF token or from another origin is refused", async () => {
  await using api = await openTestApi({ allowedHosts: ["127.0.0.1", "localhost"] });
  const id = await pendingPersona(api);
  const { cookie, csrf } = await signIn(api);

  const page = await browse(api, "GET", "/ui/approvals", { cookie });
  assert.match(page.text, new RegExp(`data-change="${id}"`));
  assert.match(page.text, /<span class="badge"[^>]*>1<\/span>/);
  assert.match(page.text, /class="added">\+ instructions: &quot;Answer in French.&quot;/);

  const before = await api.snapshot();
  const noToken = await browse(api, "POST", `/ui/approvals/${id}`, { cookie, form: { outcome: "approve" } });
  assert.equal(noToken.status, 403);
  const otherOrigin = await browse(api, "POST", `/ui/approvals/${id}`, {
    cookie,
    form: { outcome: "approve", _csrf: csrf },
    headers: { origin: "http://evil.example" },
  });
  assert.equal(otherOrigin.status, 403);
  assert.match(otherOrigin.text, /cross-origin/);
  const rebound = await browse(api, "POST", `/ui/approvals/${id}`, {
    cookie,
    form: { outcome: "approve", _csrf: csrf },
    headers: { host: "evil.example:8787", origin: "http://evil.example:8787" },
  });
  assert.equal(rebound.status, 421, "a rebinding Host is refused before the console sees it");
  assert.equal(await api.snapshot(), before, "refused forms changed nothing");

  const approved = await browse(api, "POST", `/ui/approvals/${id}`, {
    cookie,
    form: { outcome: "approve", _csrf: csrf },
  });
  assert.equal(approved.status, 200);
  assert.match(approved.text, new RegExp(`${id} applied`));
  assert.equal(api.plane.registry.getAgentGroup("demo").personaDocs.instructions, "Answer in French.");
  assert.equal(api.plane.gateway.get(id).decision?.decidedBy, CONSOLE_ACTOR);
  assert.doesNotMatch(approved.text, /class="badge"/, "the badge is gone with the last pending change");

  const audit = await browse(api, "GET", "/ui/audit", { cookie });
  assert.match(audit.text, /data-chain="ok"/);
  assert.match(audit.text, new RegExp(`<td>${id}</td>`));
  const exported = await browse(api, "GET", "/ui/audit/export", { cookie });
  assert.equal(exported.text, await Deno.readTextFile(api.plane.audit.path));
  assert.match(exported.headers.get("content-disposition")!, /attachment/);

  // A line changed behind the log's back: the page says where the chain breaks.
  const lines = (await Deno.readTextFile(api.plane.audit.path)).split("\n");
  lines[0] = lines[0].replace('"stage":"', '"stage":"x');
  await Deno.writeTextFile(api.plane.audit.path, lines.join("\n"));
  assert.match(
    (await browse(api, "GET", "/ui/audit", { cookie })).text,
    /data-chain="broken"[^>]*>Chain broken at line 1/,
  );
});

Deno.test("a one-time link signs in once; sign-out ends the session", async () => {
  await using api = await openTestApi({ allowedHosts: ["127.0.0.1", "localhost"] });
  const link = await api.call("POST", "/v1/console/links", { headers: { host: HOST } });
  assert.equal(link.status, 201);
  const code = /^\/ui\/login\?code=([0-9a-f]{64})$/.exec(link.body.path)?.[1];
  assert.ok(code, link.body.path);
  assert.equal(
    (await api.call("POST", "/v1/console/links", { token: null, headers: { host: HOST } })).status,
    401,
  );

  const page = await browse(api, "GET", link.body.path);
  assert.match(page.text, new RegExp(`name="code" value="${code}"`));
  const first = await browse(api, "POST", "/ui/login", { form: { code } });
  assert.equal(first.status, 303);
  const again = await browse(api, "POST", "/ui/login", { form: { code } });
  assert.equal(again.status, 401, "the link works once");
  assert.match(again.text, /already used or has expired/);

  const cookie = first.headers.get("set-cookie")!.split(";")[0];
  const approvals = await browse(api, "GET", "/ui/approvals", { cookie });
  const csrf = /name="_csrf" value="([0-9a-f]+)"/.exec(approvals.text)![1];
  const out = await browse(api, "POST", "/ui/logout", { cookie, form: { _csrf: csrf } });
  assert.equal(out.status, 303);
  assert.match(out.headers.get("set-cookie")!, /ironclaw_console=;.*Max-Age=0/);
  assert.equal((await browse(api, "GET", "/ui/approvals", { cookie })).status, 303, "the old cookie is dead");
});

Deno.test("a sign-in form from another origin is refused", async () => {
  await using api = await openTestApi({ allowedHosts: ["127.0.0.1", "localhost"] });
  const forged = await browse(api, "POST", "/ui/login", {
    form: { token: TEST_TOKEN },
    headers: { origin: "null" },
  });
  assert.equal(forged.status, 403);
  assert.equal(forged.headers.get("set-cookie"), null);
});

Deno.test("the change diff shows removed and added lines, multi-line text line by line", () => {
  const before = valueLines({ instructions: "Be brief.\nCite sources.", tools: ["a"] });
  const after = valueLines({ instructions: "Be brief.\nNo sources.", tools: ["a", "b"] });
  assert.deepEqual(diffLines(before, after), [
    { op: "same", text: "instructions:" },
    { op: "same", text: "  | Be brief." },
    { op: "removed", text: "  | Cite sources." },
    { op: "removed", text: 'tools: ["a"]' },
    { op: "added", text: "  | No sources." },
    { op: "added", text: 'tools: ["a","b"]' },
  ]);
  assert.deepEqual(valueLines(null), []);
});

Deno.test("a persona change's diff shows only the documents it sets (the others are kept)", () => {
  const lines = changeDiff({
    kind: "persona",
    before: { identity: "Helper.", instructions: "Be brief.", soul: "Warm." },
    after: { persona: "Be thorough." },
  });
  assert.deepEqual(lines, [
    { op: "removed", text: 'instructions: "Be brief."' },
    { op: "added", text: 'instructions: "Be thorough."' },
  ]);
});

Deno.test("the Isolation page shows the newest signed verify report's walls, says when none is kept, and refuses an altered one", async () => {
  await using api = await openTestApi({ allowedHosts: ["127.0.0.1", "localhost"] });
  const { cookie } = await signIn(api);
  const none = await browse(api, "GET", "/ui/isolation", { cookie });
  assert.equal(none.status, 200);
  assert.match(none.text, /data-report="none"/);
  assert.match(none.text, /Run <code>ironclaw verify<\/code>/);

  const result = {
    isolator: { kind: "runsc" as const, strength: "gvisor", detail: "runsc ok" },
    walls: [
      { name: "environment", held: true, detail: "no canary in any sandbox process" },
      { name: "egress-proxy", held: false, detail: "the probe got through: <b>out</b>" },
      { name: "cgroup-limits", held: false, detail: `${NOT_PROVEN}no host observations` },
    ],
  };
  const probe = reportProbe({ kind: "bundle", description: "bundle" }, "isolator/probe/main.ts");
  const older = await signReport(result, probe, api.plane.keys, new Date("2026-01-01T00:00:00Z"));
  const newer = await signReport(
    { ...result, walls: result.walls.map((w) => ({ ...w, held: true })) },
    probe,
    api.plane.keys,
    new Date("2026-02-01T00:00:00Z"),
  );
  await Deno.mkdir(`${api.stateDir}/${VERIFY_REPORTS_DIR}`);
  for (const r of [newer, older]) {
    await Deno.writeTextFile(keptReportPath(api.stateDir, r), JSON.stringify(r));
  }
  const page = await browse(api, "GET", "/ui/isolation", { cookie });
  assert.match(page.text, /data-held="true"/, "the newest report is shown");
  assert.match(page.text, /Every wall held \(3\)/);

  await Deno.remove(keptReportPath(api.stateDir, newer));
  const fallen = await browse(api, "GET", "/ui/isolation", { cookie });
  assert.match(fallen.text, /2 of 3 walls did not hold/);
  assert.match(fallen.text, /data-wall="environment" data-status="held"/);
  assert.match(fallen.text, /data-wall="egress-proxy" data-status="FALLEN"/);
  assert.match(fallen.text, /data-wall="cgroup-limits" data-status="NOT PROVEN"/);
  assert.match(fallen.text, /&lt;b&gt;out&lt;\/b&gt;/, "details are escaped");

  // Someone edits the kept report to say every wall held: the signature no longer checks and no wall is shown.
  await Deno.writeTextFile(
    keptReportPath(api.stateDir, older),
    JSON.stringify({ ...older, held: true, walls: older.walls.map((w) => ({ ...w, held: true })) }),
  );
  const altered = await browse(api, "GET", "/ui/isolation", { cookie });
  assert.match(
    altered.text,
    /data-report="unsigned"[^>]*>The newest report .* does not check: the signature/,
  );
  assert.doesNotMatch(altered.text, /data-wall=/);
});

Deno.test("the Usage page shows tokens and cost per agent and day, and what is left of each budget today", async () => {
  await using api = await openTestApi({ allowedHosts: ["127.0.0.1", "localhost"] });
  const { cookie } = await signIn(api);
  const empty = await browse(api, "GET", "/ui/usage", { cookie });
  assert.match(empty.text, /No agent has a daily budget/);
  assert.match(empty.text, /No model usage in the last 7 days/);

  const today = api.plane.usage.day.of(new Date());
  api.plane.usage.store.add({
    agentGroupId: "demo",
    day: today,
    model: "claude-x",
    inputTokens: 1200,
    outputTokens: 300,
    costMicroUsd: 12_500,
  });
  const budget = await api.plane.gateway.submit({
    kind: "budget",
    agentGroupId: AgentGroupId.parse("demo"),
    requestedBy: "cli:test",
    after: { dailyTokens: 2000, dailyUsd: 0.01 },
  });
  await api.plane.gateway.decide(budget.request.id, "approve", "cli:test");

  const page = await browse(api, "GET", "/ui/usage", { cookie });
  assert.match(
    page.text,
    new RegExp(
      `data-usage="demo ${today} claude-x"><td>${today}</td><td>demo</td><td>claude-x</td><td>1</td><td>1200</td><td>300</td><td>\\$0.0125</td>`,
    ),
  );
  assert.match(
    page.text,
    new RegExp(
      `data-budget="demo"><td>demo</td><td>500 left of 2000</td><td>SPENT \\(\\$0.0125 of \\$0.0100\\)</td><td>${budget.request.id}</td>`,
    ),
  );
  assert.equal((await browse(api, "GET", "/ui/usage?days=0", { cookie })).status, 400);
});

Deno.test({
  name:
    "an MCP grant's approval card shows each granted tool's description and input schema as the real server offered it; approving it pins them",
  // The sample server is a child process the plane's MCP connections keep until the plane closes.
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using api = await openTestApi({ allowedHosts: ["127.0.0.1", "localhost"] }, {
      mcpAllowHostProcess: true,
    });
    const { cookie, csrf } = await signIn(api);
    const register = await api.call("POST", "/v1/mcp/servers", {
      body: {
        server: {
          name: "sample",
          transport: "stdio",
          command: Deno.execPath(),
          args: ["run", "-A", MCP_SAMPLE],
        },
        requestedBy: "cli:test",
      },
      headers: { host: HOST },
    });
    assert.equal(register.status, 202, JSON.stringify(register.body));
    await api.plane.gateway.decide(register.body.request.id, "approve", "cli:test");
    // Proposed through the API, which asks the server what it offers now and records it with the change.
    const grant = await api.call("POST", "/v1/mcp/servers/sample/grants", {
      body: { agentGroupId: "demo", tools: ["echo", "add"], requestedBy: "cli:test" },
      headers: { host: HOST },
    });
    assert.equal(grant.status, 202, JSON.stringify(grant.body));
    const id = grant.body.request.id;

    const page = await browse(api, "GET", "/ui/approvals", { cookie });
    const card = page.text.slice(page.text.indexOf(`data-change="${id}"`));
    assert.match(card, /2 tools of sample, as the server offers them/);
    assert.match(card, /<code>add<\/code>: Adds two numbers\./);
    assert.match(card, /data-tool="echo"/);
    assert.match(
      card,
      /&quot;text&quot;: \{\n\s+&quot;type&quot;: &quot;string&quot;,\n\s+&quot;description&quot;: &quot;what to repeat&quot;/,
    );
    assert.doesNotMatch(card, /data-tool="slow"/, "a tool the change does not grant is not listed");

    const approved = await browse(api, "POST", `/ui/approvals/${id}`, {
      cookie,
      form: { outcome: "approve", _csrf: csrf },
    });
    assert.match(approved.text, new RegExp(`${id} applied`));
    const pins = api.plane.mcpPins.pins("demo", "sample");
    assert.deepEqual([...pins.keys()].sort(), ["add", "echo"]);
    const shown = api.plane.mcpPins.offer(id)!.tools.find((t) => t.name === "add")!;
    assert.equal(pins.get("add")!.hash, shown.hash, "the approval pinned the tool as the card showed it");
  },
});

Deno.test("the agent editor proposes persona and tools changes with their diff; nothing changes until they are approved", async () => {
  await using api = await openTestApi({ allowedHosts: ["127.0.0.1", "localhost"] });
  const { cookie, csrf } = await signIn(api);
  const agents = await browse(api, "GET", "/ui/agents", { cookie });
  assert.match(agents.text, /<td><a href="\/ui\/agents\/demo">[^<]+<\/a><\/td><td>demo<\/td>/);
  const editor = await browse(api, "GET", "/ui/agents/demo", { cookie });
  assert.equal(editor.status, 200);
  const before = api.plane.registry.getAgentGroup("demo");
  assert.match(editor.text, /<textarea id="persona-instructions" name="instructions"/);

  const unchanged = await browse(api, "POST", "/ui/agents/demo/persona", {
    cookie,
    form: { _csrf: csrf, instructions: before.personaDocs.instructions ?? "" },
  });
  assert.equal(unchanged.status, 400);
  assert.match(unchanged.text, /Nothing changed/);

  const persona = await browse(api, "POST", "/ui/agents/demo/persona", {
    cookie,
    form: {
      _csrf: csrf,
      identity: before.personaDocs.identity ?? "",
      soul: before.personaDocs.soul ?? "",
      instructions: "Answer in French.\r\nBe brief.",
    },
  });
  assert.equal(persona.status, 202, persona.text);
  const [pending] = api.plane.gateway.pending();
  assert.equal(pending.request.kind, "persona");
  assert.deepEqual(
    pending.request.after,
    { instructions: "Answer in French.\nBe brief." },
    "only what changed, LF",
  );
  assert.match(persona.text, new RegExp(`data-proposed="${pending.request.id}"`));
  assert.match(persona.text, /class="added">\+ {3}\| Be brief\./);
  assert.deepEqual(
    api.plane.registry.getAgentGroup("demo").personaDocs,
    before.personaDocs,
    "not applied yet",
  );

  // Only read_file ticked: the mandatory tools stay, every other tool is removed, one tool a line.
  const tools = await browse(api, "POST", "/ui/agents/demo/tools", {
    cookie,
    form: { _csrf: csrf, scope: "only", tool: "read_file" },
  });
  assert.equal(tools.status, 202, tools.text);
  const toolsChange = api.plane.gateway.pending().find((r) => r.request.kind === "enabled_tools")!;
  assert.deepEqual(toolsChange.request.after, {
    tools: ["request_capability_change", "ask_user_question", "read_file"],
  });
  assert.match(tools.text, /class="removed">− tool write_file/);
  assert.match(tools.text, /class="same"> {2}tool read_file/);
  const bad = await browse(api, "POST", "/ui/agents/demo/tools", {
    cookie,
    form: { _csrf: csrf, scope: "only", tool: "rm_rf" },
  });
  assert.equal(bad.status, 400);

  for (const { request } of api.plane.gateway.pending()) {
    const approved = await browse(api, "POST", `/ui/approvals/${request.id}`, {
      cookie,
      form: { outcome: "approve", _csrf: csrf },
    });
    assert.match(approved.text, new RegExp(`${request.id} applied`));
  }
  const after = api.plane.registry.getAgentGroup("demo");
  assert.equal(after.personaDocs.instructions, "Answer in French.\nBe brief.");
  assert.deepEqual(after.enabledTools?.toSorted(), [
    "ask_user_question",
    "read_file",
    "request_capability_change",
  ]);
  assert.equal(api.plane.gateway.get(toolsChange.request.id).request.requestedBy, CONSOLE_ACTOR);
});

Deno.test("the session cookie is Secure unless the console is reached by a loopback name; a refused cookie is explained", async () => {
  await using api = await openTestApi({ allowedHosts: ["127.0.0.1", "localhost", "console.example"] });
  const loopback = await browse(api, "POST", "/ui/login", { form: { token: TEST_TOKEN } });
  assert.doesNotMatch(loopback.headers.get("set-cookie")!, /Secure/);
  assert.equal(loopback.headers.get("location"), "/ui/?signed-in");

  // Behind a TLS proxy that passes the public name on (serve --api-host console.example).
  const proxied = await browse(api, "POST", "/ui/login", {
    form: { token: TEST_TOKEN },
    headers: { host: "console.example", origin: "https://console.example", "x-forwarded-proto": "http" },
  });
  assert.equal(proxied.status, 303);
  assert.match(proxied.headers.get("set-cookie")!, /; Secure/, "X-Forwarded-Proto is not trusted to drop it");
  const cookie = proxied.headers.get("set-cookie")!.split(";")[0];
  const welcome = await browse(api, "GET", "/ui/?signed-in", {
    cookie,
    headers: { host: "console.example" },
  });
  assert.equal(welcome.headers.get("location"), "/ui/approvals");

  // Over plain HTTP the browser drops a Secure cookie: the page after sign-in says why, not a silent loop.
  const dropped = await browse(api, "GET", "/ui/?signed-in", { headers: { host: "console.example" } });
  assert.equal(dropped.status, 400);
  assert.match(dropped.text, /did not keep the session cookie.*needs HTTPS/);
});
