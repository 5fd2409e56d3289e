import assert from "node:assert/strict";
import { openTestApi, TEST_TOKEN, type TestApi } from "../../../tests/support/api.ts";
import { AgentGroupId } from "../../../contract/ids.ts";
import { changeDiff, CONSOLE_ACTOR, CONSOLE_CSP, diffLines, valueLines } from "./mod.ts";

const HOST = "127.0.0.1:8787";
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
