/**
 * Hostile input against every route of the HTTP API, in process. The routes
 * come from the served OpenAPI document, so a new route is fuzzed as soon as
 * it is registered. Each request is built from the route's own parameter and
 * body schemas (valid values, so many get past validation and reach the
 * handlers; valid values spoiled in one spot; hostile ones), and then some:
 * lone surrogates, NUL, RTL overrides, combining marks, traversal and shell
 * metacharacters in every string field and path parameter, random and
 * malformed JSON, invalid UTF-8, bodies over the cap and nested past the
 * bound, wrong methods, paths and content types, missing or wrong tokens.
 *
 * Properties, for every answer:
 * - never 5xx, and the status is one the route documents (404 where no route
 *   matches; the body cap's 413 and the nesting bound's 400 on any body);
 * - an error answer (but to HEAD) is JSON `{"error": "<one line>"}`: no line
 *   break of any kind, no control character, no stack trace or source location;
 * - a 4xx, and any GET, leaves the state as it was: pending changes, history,
 *   audit file bytes, registry listings, open questions, parked sessions, and
 *   every row of every table of the state database;
 * - `app.fetch` never throws and answers within 15 s;
 * and after each route's run the control plane is still ready and the audit chain verifies.
 * Each route gets a fresh control plane (dev seed, one pending change, one user) whose
 * sandboxes are stand-ins. The last test shows each check failing on a broken API.
 *
 * Replay a failure with the seed it prints: `IRONCLAW_FUZZ_SEED=<n> scripts/deno test -A tests/fuzz/api_fuzz_test.ts`
 * (see `harness.ts` for the other knobs; `IRONCLAW_FUZZ_VERBOSE=1` prints each route's answers).
 *
 * @module
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { z } from "zod";
import { CHANGE_PAYLOADS } from "../../contract/changes.ts";
import type { Isolator, LaunchSpec, SandboxHandle } from "../../isolator/mod.ts";
import { type ApiApp, createApiApp } from "../../src/api/mod.ts";
import { ControlPlane } from "../../src/control_plane/mod.ts";
import { NO_RATE_LIMIT, planeSnapshot, TEST_TOKEN } from "../support/api.ts";
import { LIBRARY, tempDir } from "../support/mod.ts";
import { anyString, fuzz, hostileJson, longString, NASTY_PIECES, nestedJsonText } from "./harness.ts";
import { type Schema, SchemaValues } from "./schema_values.ts";

const REPLAY = "scripts/deno test -A tests/fuzz/api_fuzz_test.ts";

/** Requests per route (`IRONCLAW_FUZZ_RUNS` overrides). */
const RUNS_PER_ROUTE = 70;

/** `IRONCLAW_FUZZ_VERBOSE=1` prints how each route answered. */
const VERBOSE = Deno.env.get("IRONCLAW_FUZZ_VERBOSE") === "1";

/** 400 messages seen in this step, in verbose mode. */
const errors = new Map<string, number>();

/** An answer that takes longer than this is a hang. */
const ANSWER_TIMEOUT_MS = 15_000;

// ---------------------------------------------------------------------------
// The API under test: a dev control plane whose sandboxes are stand-ins (a
// valid chat message launches nothing real), with no background loops.

/** A sandbox backend that launches nothing: each "sandbox" lives until stopped. */
const fakeIsolator: Isolator = {
  kind: "process",
  strength: "none",
  check: () => Promise.resolve({ ok: true, detail: "fuzz stand-in" }),
  launch(spec: LaunchSpec): Promise<SandboxHandle> {
    let stopped = false;
    const { promise: exited, resolve } = Promise.withResolvers<{ code: number | null }>();
    return Promise.resolve({
      sessionId: spec.sessionId,
      logPath: "/dev/null",
      exited,
      alive: () => Promise.resolve(!stopped),
      stop: () => {
        stopped = true;
        resolve({ code: 0 });
        return Promise.resolve();
      },
    });
  },
};

/** A fixed change id the fixture creates, so generated requests can name it. */
const PENDING_CHANGE = "chg_fuzz_pending";

/** Values that make a field valid more often than random text would, by field name. */
const HINTS: Record<string, readonly string[]> = {
  id: ["demo", PENDING_CHANGE, "slack:alice", "ses_fuzz0000", "fuzz-agent"],
  agentGroupId: ["demo", "fuzz-agent"],
  userId: ["slack:alice", "web:console"],
  channelType: ["slack", "web", "telegram"],
  platformId: ["C123", "console"],
  instance: ["main"],
  messagingGroupId: ["mg_0000000000000000"],
  requestedBy: ["human:op", "agent:demo"],
  decidedBy: ["human:op"],
  answeredBy: ["human:op"],
  name: ["Fuzz Agent", "fuzz-agent"],
  folder: ["fuzz-agent"],
  chatId: ["demo", "fuzz-chat"],
  text: ["hello"],
  answer: ["yes"],
  soul: ["calm"],
  identity: ["a helper"],
  instructions: ["be brief"],
  source: ["/srv/data", "/etc"],
  target: ["/data"],
  server: ["github"],
  url: ["https://mcp.example.com"],
  command: ["mcp-server"],
  transport: ["http", "stdio"],
};
const GENERIC_STRINGS = ["demo", "x", "read_file", "api.example.com", "slack:alice", PENDING_CHANGE];

interface FuzzApi extends AsyncDisposable {
  app: Pick<ApiApp, "fetch">;
  plane: ControlPlane;
  snapshot(): Promise<string>;
}

/** Every row of every table of the state database (users, tasks, questions, … included), sorted. */
async function openFuzzApi(): Promise<FuzzApi> {
  const dir = tempDir("ironclaw-fuzz-api-");
  const program = `${dir.path}/agent.js`;
  Deno.writeTextFileSync(program, "// never run: the fuzz isolator launches nothing\n");
  const plane = await ControlPlane.open({
    stateDir: `${dir.path}/state`,
    dev: true,
    library: LIBRARY,
    isolator: fakeIsolator,
    agentProgram: program,
    background: false,
  });
  const app = createApiApp(plane, { token: TEST_TOKEN, rateLimit: NO_RATE_LIMIT });
  await plane.gateway.submit({
    id: PENDING_CHANGE,
    kind: "persona",
    agentGroupId: "demo" as never,
    requestedBy: "agent:demo",
    after: { soul: "calm" },
  });
  plane.registry.putUser({ id: "slack:alice" as never, kind: "human", displayName: "Alice" });
  // The write's audit line is appended after it: the snapshots must start from a settled state.
  await plane.registryEdits.settled();
  return {
    app,
    plane,
    snapshot: () => planeSnapshot(plane),
    [Symbol.asyncDispose]: async () => {
      await plane.close().catch(() => {});
      dir[Symbol.dispose]();
    },
  };
}

// ---------------------------------------------------------------------------
// The routes, from the OpenAPI document.

interface Param {
  name: string;
  in: "path" | "query";
  required: boolean;
  schema: Schema;
}

interface Operation {
  method: string;
  template: string;
  params: Param[];
  body: Schema | undefined;
  statuses: Set<number>;
  /** The media types its 2xx answers are documented with. */
  successTypes: Set<string>;
  pattern: RegExp;
}

function operations(doc: Schema): Operation[] {
  const ops: Operation[] = [];
  for (const [template, methods] of Object.entries<Schema>(doc.paths)) {
    for (const [method, op] of Object.entries<Schema>(methods)) {
      const body = op.requestBody?.content?.["application/json"]?.schema;
      const regex = template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "[^/]+");
      ops.push({
        method: method.toUpperCase(),
        template,
        params: (op.parameters ?? []) as Param[],
        body,
        statuses: new Set(Object.keys(op.responses).map(Number)),
        successTypes: new Set(
          Object.entries<Schema>(op.responses).filter(([status]) => status.startsWith("2"))
            .flatMap(([, answer]) => Object.keys(answer.content ?? {})),
        ),
        pattern: new RegExp(`^${regex}$`),
      });
    }
  }
  return ops;
}

/** The change payload schemas as JSON Schema, so `after` is often a real payload that fits its kind. */
const PAYLOAD_SCHEMAS: Record<string, Schema> = Object.fromEntries(
  Object.entries(CHANGE_PAYLOADS).map(([kind, s]) => [
    kind,
    z.toJSONSchema(s as z.ZodType, { io: "input", unrepresentable: "any" }),
  ]),
);

const VALUES: SchemaValues = new SchemaValues({
  hints: HINTS,
  generic: GENERIC_STRINGS,
  payloads: PAYLOAD_SCHEMAS,
});

// ---------------------------------------------------------------------------
// Requests.

/** Percent-encodes every byte outside the unreserved set; lone surrogates as their (invalid) WTF-8 bytes. */
function strictEncode(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    const pair = unit >= 0xd800 && unit < 0xdc00 && i + 1 < text.length &&
      text.charCodeAt(i + 1) >= 0xdc00 && text.charCodeAt(i + 1) < 0xe000;
    const ch = pair ? text.slice(i, i + 2) : text[i];
    if (pair) i++;
    if (/^[A-Za-z0-9\-._~]$/.test(ch)) {
      out += ch;
      continue;
    }
    const bytes = unit >= 0xd800 && unit < 0xe000 && !pair
      ? [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)]
      : new TextEncoder().encode(ch);
    for (const b of bytes) out += `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** A value put in a URL: strictly encoded, encoded by the URL parser only, or with stray `%`s. */
function urlPart(value: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.tuple(
    value,
    fc.constantFrom("strict", "strict", "strict", "raw", "stray"),
    fc.constantFrom("%", "%z", "%E0%A4", "%00", "%ff", "%C0%AE"),
  ).map(([text, how, stray]) =>
    how === "strict"
      ? strictEncode(text)
      : how === "stray"
      ? strictEncode(text) + stray
      : text.replace(/[#?%]/g, (c) => strictEncode(c))
  );
}

/** A request body: its bytes, its content type, and whether a route may answer it 413. */
interface Body {
  bytes: BodyInit | undefined;
  contentType: string | undefined;
  label: string;
}

const JSON_TYPE = "application/json";
const WRONG_TYPES = [
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/jsonx",
  "application/json; charset=utf-16",
  "APPLICATION/JSON",
  "application/vnd.api+json",
  "application/json, text/plain",
  "\u0000",
  "",
];

function bodyArb(op: Operation, doc: Schema): fc.Arbitrary<Body> {
  const valued = op.body ? VALUES.values(op.body, doc) : hostileJson(3);
  const json = (label: string, contentType = JSON_TYPE) => (value: unknown): Body => ({
    bytes: JSON.stringify(value) ?? "null",
    contentType,
    label,
  });
  return fc.oneof(
    { weight: 12, arbitrary: valued.map(json("schema")) },
    { weight: 2, arbitrary: hostileJson(5).map(json("random JSON")) },
    {
      weight: 2,
      arbitrary: fc.oneof(
        valued.map((v) => (JSON.stringify(v) ?? "").slice(0, -1)),
        anyString([
          '{"',
          "[",
          "{",
          "nul",
          '{"a":}',
          "\uFEFF{}",
          "{}x",
          '{"a":1,"a":2}',
          '{"__proto__":{"x":1}}',
        ]),
        fc.constantFrom("1e99999", "-", '"\\ud800"', '"\\u0000"', "[1,]", "{'a':1}", "NaN", ""),
      ).map((text): Body => ({ bytes: text, contentType: JSON_TYPE, label: "malformed JSON" })),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(valued, longString).map(([v, long]) => {
        const value = v && typeof v === "object" && !Array.isArray(v) ? { ...v, pad: long } : [v, long];
        return json("huge")(value);
      }),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(
        fc.constantFrom(31, 32, 33, 64, 20_000),
        fc.constantFrom("array", "object") as fc.Arbitrary<"array" | "object">,
      )
        .map(([depth, kind]): Body => ({
          bytes: `{"after":${nestedJsonText(depth, kind)}}`,
          contentType: JSON_TYPE,
          label: `nested ${depth}`,
        })),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(valued, fc.constantFrom<string | undefined>(...WRONG_TYPES, undefined))
        .map(([v, type]) => json("wrong content type", type as string)(v)),
    },
    {
      weight: 1,
      arbitrary: fc.uint8Array({ maxLength: 64 }).map((b): Body => ({
        bytes: new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, ...b, 0xff, 0xfe, 0x22, 0x7d]),
        contentType: JSON_TYPE,
        label: "invalid UTF-8",
      })),
    },
    {
      weight: 1,
      arbitrary: fc.constant<Body>({ bytes: undefined, contentType: undefined, label: "no body" }),
    },
    {
      weight: 1,
      arbitrary: fc.constant<Body>({ bytes: undefined, contentType: JSON_TYPE, label: "no body, JSON type" }),
    },
  );
}

/** A path or query string parameter: often a plausible value, else a hostile one (not megabytes: URLs). */
function paramString(param: Param): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 5, arbitrary: VALUES.string(param.schema, param.name, true) },
    { weight: 4, arbitrary: VALUES.string(param.schema, param.name).filter((v) => v.length < 100_000) },
  );
}

function queryValue(param: Param): fc.Arbitrary<string> {
  const s = param.schema ?? {};
  if (s.type === "integer" || s.type === "number") {
    const min = s.minimum ?? 0;
    // A long poll (`wait`) is held to a few ms when valid, so the run stays fast.
    const max = param.name === "wait" ? Math.min(s.maximum ?? 5, 5) : s.maximum ?? 1000;
    return fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min, max }).map(String) },
      {
        weight: 3,
        arbitrary: fc.constantFrom(
          String(min - 1),
          String((s.maximum ?? max) + 1),
          "1.5",
          "1e3",
          " 5",
          "0x10",
          "-0",
          "Infinity",
          "NaN",
          "",
          "99999999999999999999999",
        ),
      },
      { weight: 2, arbitrary: anyString() },
    );
  }
  return paramString(param);
}

/** One request. */
interface Req {
  method: string;
  path: string;
  query: string;
  token: string | null;
  body: Body;
}

const OTHER_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"];

function requestArb(op: Operation, doc: Schema): fc.Arbitrary<Req> {
  const pathParams = op.params.filter((p) => p.in === "path");
  const queryParams = op.params.filter((p) => p.in === "query");
  const path = fc.tuple(
    ...pathParams.map((p) => urlPart(paramString(p))),
  ).map((values) => {
    let i = 0;
    return op.template.replace(/\{[^}]+\}/g, () => values[i++] || "x");
  });
  const mutated = fc.oneof(
    { weight: 40, arbitrary: path },
    { weight: 1, arbitrary: path.map((p) => `${p}/`) },
    { weight: 1, arbitrary: fc.tuple(path, urlPart(anyString())).map(([p, s]) => `${p}/${s}`) },
    { weight: 1, arbitrary: fc.tuple(path, fc.constantFrom(...NASTY_PIECES)).map(([p, s]) => `${p}/${s}`) },
    { weight: 1, arbitrary: path.map((p) => `/${p}`) },
    { weight: 1, arbitrary: path.map((p) => p.toUpperCase()) },
  );
  const query = fc.tuple(
    ...queryParams.map((p) =>
      fc.option(urlPart(queryValue(p)).map((v) => `${p.name}=${v}`), { freq: p.required ? 6 : 2 })
    ),
    fc.option(
      fc.tuple(urlPart(anyString(["limit", "agentGroupId", "__proto__"])), urlPart(anyString())).map(
        ([k, v]) => `${k}=${v}`,
      ),
      { freq: 3 },
    ),
  ).map((parts) => {
    const kept = parts.filter((p): p is string => p !== null);
    return kept.length ? `?${kept.join("&")}` : "";
  });
  return fc.record({
    method: fc.oneof({ weight: 30, arbitrary: fc.constant(op.method) }, {
      weight: 2,
      arbitrary: fc.constantFrom(...OTHER_METHODS),
    }),
    path: mutated,
    query,
    token: fc.oneof(
      { weight: 20, arbitrary: fc.constant(TEST_TOKEN) },
      { weight: 1, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: anyString([TEST_TOKEN.slice(0, -1), `${TEST_TOKEN} `, ""]) },
    ),
    body: bodyArb(op, doc),
  });
}

// ---------------------------------------------------------------------------
// The properties.

/** What a stack trace or a source location looks like. */
const STACK = /\n\s+at |\bat [^\s]+ \(|file:\/\/\/|\.[jt]s:\d+:\d+|node_modules/;

async function send(app: Pick<ApiApp, "fetch">, req: Req, timeoutMs = ANSWER_TIMEOUT_MS): Promise<Response> {
  const headers = new Headers();
  if (req.token !== null) {
    try {
      headers.set("authorization", `Bearer ${req.token}`);
    } catch { /* not a valid header value: sent without one */ }
  }
  const canHaveBody = req.method !== "GET" && req.method !== "HEAD";
  if (canHaveBody && req.body.contentType !== undefined) {
    try {
      headers.set("content-type", req.body.contentType);
    } catch { /* not a valid header value */ }
  }
  const request = new Request(`http://api.test${req.path}${req.query}`, {
    method: req.method,
    headers,
    body: canHaveBody ? req.body.bytes : undefined,
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([Promise.resolve(app.fetch(request)), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The statuses `req` may be answered with. */
function allowedStatuses(req: Req, ops: Operation[], sentBody: boolean): Set<number> {
  const method = req.method === "HEAD" ? "GET" : req.method;
  // As the request will carry it: the URL parser drops trailing controls from the whole URL, not the path.
  const pathname = new URL(`http://api.test${req.path}${req.query}`).pathname;
  const matched = ops.filter((o) => o.method === method && o.pattern.test(pathname));
  const allowed = new Set<number>(matched.length ? matched.flatMap((o) => [...o.statuses]) : [404, 401]);
  // The body cap and the nesting bound guard every route, matched or not.
  if (sentBody) { for (const s of [400, 413]) allowed.add(s); }
  return allowed;
}

/** A 2xx answer whose media type is not JSON and is the one its operation documents (metrics, a backup file). */
function isDocumentedNonJson(req: Req, ops: Operation[], response: Response): boolean {
  const type = (response.headers.get("content-type") ?? "").split(";")[0].trim();
  if (type === "" || type === "application/json") return false;
  const pathname = new URL(`http://api.test${req.path}${req.query}`).pathname;
  return ops.some((o) => o.method === req.method && o.pattern.test(pathname) && o.successTypes.has(type));
}

/** `text` with control and line-separator characters as escapes, so a failure prints what was sent. */
function escapeControls(text: string): string {
  return text.replace(/[\p{Cc}\u2028\u2029]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function describe(req: Req): string {
  const body = typeof req.body.bytes === "string"
    ? req.body.bytes.length > 300
      ? `${req.body.bytes.slice(0, 300)}… (${req.body.bytes.length} chars)`
      : req.body.bytes
    : String(req.body.bytes);
  return `${req.method} ${req.path}${req.query} [${req.body.label}, ${req.body.contentType}] ${
    JSON.stringify(body)
  }`;
}

/** Checks one answer; throws with the request when a property fails. */
async function checkOne(
  api: FuzzApi,
  ops: Operation[],
  req: Req,
  seen: Map<number, number>,
  timeoutMs?: number,
): Promise<void> {
  const before = await api.snapshot();
  const response = await send(api.app, req, timeoutMs);
  seen.set(response.status, (seen.get(response.status) ?? 0) + 1);
  if (VERBOSE && response.status === 400) {
    const key = (await response.clone().text()).slice(10, 70).replace(/"[^"]*"/g, "…");
    errors.set(key, (errors.get(key) ?? 0) + 1);
  }
  const text = await response.text();
  const where = escapeControls(`${describe(req)} → ${response.status} ${text.slice(0, 300)}`);
  const sentBody = req.method !== "GET" && req.method !== "HEAD" && req.body.bytes !== undefined;
  assert.ok(response.status < 500, `5xx: ${where}`);
  assert.ok(allowedStatuses(req, ops, sentBody).has(response.status), `undocumented status: ${where}`);
  if (response.status >= 400 && req.method !== "HEAD") {
    assert.match(
      response.headers.get("content-type") ?? "",
      /^application\/json\b/,
      `error not JSON: ${where}`,
    );
    let body: unknown;
    assert.doesNotThrow(() => body = JSON.parse(text), `error body not JSON: ${where}`);
    assert.ok(body && typeof body === "object" && !Array.isArray(body), `error body not an object: ${where}`);
    assert.deepEqual(Object.keys(body as object), ["error"], `error body not {error}: ${where}`);
    const message = (body as { error: unknown }).error;
    assert.equal(typeof message, "string", `error not a string: ${where}`);
    assert.ok((message as string).length > 0, `empty error: ${where}`);
    assert.ok(!/[\r\n\v\f\x85\u2028\u2029]/.test(message as string), `error not one line: ${where}`);
    assert.ok(!/\p{Cc}/u.test(message as string), `control character in the error: ${where}`);
    assert.ok(!STACK.test(message as string), `stack trace in the error: ${where}`);
  } else if (response.status < 300 && req.method !== "HEAD" && !isDocumentedNonJson(req, ops, response)) {
    assert.doesNotThrow(() => JSON.parse(text), `2xx body not JSON: ${where}`);
  }
  if (response.status >= 400 || req.method === "GET" || req.method === "HEAD") {
    const after = await api.snapshot();
    assert.ok(after === before, `state changed by a ${req.method} answered ${response.status}: ${where}`);
  }
}

Deno.test({
  name: "API fuzz: every OpenAPI route answers hostile input with a clean 4xx or a documented 2xx",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    const doc = await (async () => {
      await using api = await openFuzzApi();
      const answer = await api.app.fetch(
        new Request("http://api.test/v1/openapi.json", {
          headers: { authorization: `Bearer ${TEST_TOKEN}` },
        }),
      );
      return await answer.json();
    })();
    const ops = operations(doc);
    assert.ok(ops.length >= 40, `the OpenAPI document lists ${ops.length} routes`);
    const started = performance.now();
    let total = 0;
    for (const op of ops) {
      // Each route gets a fresh control plane: a route's run does not depend on what another's did.
      await t.step(`${op.method} ${op.template}`, async () => {
        await using api = await openFuzzApi();
        const seen = new Map<number, number>();
        const stats = await fuzz(
          `api ${op.method} ${op.template}`,
          fc.asyncProperty(requestArb(op, doc), (req) => checkOne(api, ops, req, seen)),
          RUNS_PER_ROUTE,
          REPLAY,
        );
        total += stats.runs;
        if (VERBOSE) {
          const counts = [...seen].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(" ");
          console.log(
            `${op.method} ${op.template}: ${counts}${stats.interrupted ? " (time budget hit)" : ""}`,
          );
          const top = [...errors].sort((a, b) => b[1] - a[1]).slice(0, 5);
          for (const [message, n] of top) console.log(`    ${n}× ${message}`);
          errors.clear();
        }
        assert.equal(api.plane.readiness().ready, true, "the control plane is still ready");
        assert.equal((await api.plane.audit.verify()).ok, true, "the audit chain still verifies");
      });
    }
    console.log(
      `${total} requests over ${ops.length} routes in ${Math.round(performance.now() - started)} ms`,
    );
  },
});

// The checks above can fail: each breakage below, put between the requests and a real API, is caught.
Deno.test("API fuzz checks catch 5xx, undocumented statuses, bad error bodies, state changes, throws and hangs", async () => {
  await using api = await openFuzzApi();
  const doc = await (await api.app.fetch(
    new Request("http://api.test/v1/openapi.json", { headers: { authorization: `Bearer ${TEST_TOKEN}` } }),
  )).json();
  const ops = operations(doc);
  const body = (text: string): Body => ({ bytes: text, contentType: JSON_TYPE, label: "fixed" });
  const bad: Req = { method: "POST", path: "/v1/changes", query: "", token: TEST_TOKEN, body: body("{") };
  const get: Req = {
    method: "GET",
    path: "/v1/changes/pending",
    query: "",
    token: TEST_TOKEN,
    body: body(""),
  };
  const json = (status: number, value: unknown) =>
    new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json" } });
  const real = (r: Request) => api.app.fetch(r);
  const touch = () => api.plane.registry.putUser({ id: `slack:u${Math.random()}` as never, kind: "human" });
  const breakages: [string, Req, (r: Request) => Response | Promise<Response>, RegExp][] = [
    ["a 500", bad, () => json(500, { error: "internal error" }), /5xx: /],
    ["an undocumented status", bad, () => json(418, { error: "teapot" }), /undocumented status/],
    ["a text error", bad, () => new Response("bad", { status: 400 }), /error not JSON/],
    ["an extra key", bad, () => json(400, { error: "x", stack: "…" }), /not \{error\}/],
    ["two lines", bad, () => json(400, { error: "a\u0085b" }), /not one line/],
    ["a control character", bad, () => json(400, { error: "a\u001bb" }), /control character/],
    ["a stack trace", bad, () => json(400, { error: "boom at f (file:///x.ts:1:2)" }), /stack trace/],
    ["a 4xx that changed state", bad, async (r) => {
      touch();
      return await real(r);
    }, /state changed/],
    ["a GET that changed state", get, async (r) => {
      touch();
      return await real(r);
    }, /state changed/],
    ["a throw", bad, () => {
      throw new Error("crash");
    }, /crash/],
    ["a hang", bad, () => new Promise<Response>(() => {}), /no answer within/],
  ];
  for (const [what, req, fetch, expected] of breakages) {
    const broken: FuzzApi = { ...api, app: { fetch: (r: Request) => Promise.resolve(fetch(r)) } };
    await assert.rejects(checkOne(broken, ops, req, new Map(), 50), expected, what);
  }
  await checkOne(api, ops, bad, new Map());
  await checkOne(api, ops, get, new Map());
});
