/**
 * An in-process API over a fresh control plane in a temporary state
 * directory, with helpers to call it and to snapshot everything a request
 * could change (so a test can show a refused request changed nothing).
 *
 * @module
 */
import type { ClientResponse } from "hono/client";
import type { SuccessStatusCode } from "hono/utils/http-status";
import { type ApiApp, apiClient, type ApiOptions, type ApiRpc, createApiApp } from "../../src/api/mod.ts";
import { SessionId } from "../../contract/ids.ts";
import { ControlPlane, type ControlPlaneOptions } from "../../src/control_plane/mod.ts";
import { LIBRARY, tempDir } from "./mod.ts";

/** The token test APIs accept. */
export const TEST_TOKEN = "test-token-0123456789abcdef";

/** One answer, body parsed as JSON when it is JSON. */
export interface Answer {
  status: number;
  headers: Headers;
  // deno-lint-ignore no-explicit-any
  body: any;
}

/** What `call` may send. */
export interface CallOptions {
  body?: unknown;
  /** Sent as is instead of JSON-encoding `body`. */
  raw?: BodyInit;
  token?: string | null;
  headers?: Record<string, string>;
}

/** A test API and its control plane. */
export interface TestApi extends AsyncDisposable {
  app: ApiApp;
  plane: ControlPlane;
  stateDir: string;
  call(method: string, path: string, options?: CallOptions): Promise<Answer>;
  /** Everything durable: changes, audit bytes and every registry listing. */
  snapshot(): Promise<string>;
}

/** Sends one request to `app` and parses the answer. */
export async function callApp(
  app: ApiApp,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  const token = options.token === undefined ? TEST_TOKEN : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: BodyInit | undefined = options.raw;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["content-type"] ??= "application/json";
  }
  const response = await app.fetch(new Request(`http://api.test${path}`, { method, headers, body }));
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch { /* not JSON: keep the text */ }
  return { status: response.status, headers: response.headers, body: parsed };
}

/**
 * The typed client (`hc<ApiApp>`) of the API at `url`, or of `app` served
 * in-process, sending the bearer `token`: a test's calls break its build when
 * a route changes.
 */
export function typedApi(target: string | Pick<ApiApp, "fetch">, token: string = TEST_TOKEN): ApiRpc {
  const headers = { authorization: `Bearer ${token}` };
  if (typeof target === "string") return apiClient(target, { headers });
  return apiClient("http://api.test", {
    headers,
    fetch: (input: RequestInfo | URL, init?: RequestInit) => target.fetch(new Request(input, init)),
  });
}

/** One typed answer: `body` is the route's answer for `status` (check the status, and the body is typed). */
export type Answered<R> = R extends ClientResponse<infer T, infer S, infer _F> ? { status: S; body: T }
  : never;

/** Reads a typed call's answer (a body that is not JSON is kept as text). */
export async function answered<R extends ClientResponse<unknown>>(
  response: Promise<R>,
): Promise<Answered<R>> {
  const answer = await response;
  const text = await answer.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch { /* not JSON: keep the text */ }
  return { status: answer.status, body } as Answered<R>;
}

/** A typed call's 2xx body; any other status throws, naming it and the body. */
export async function okBody<R extends ClientResponse<unknown>>(
  response: Promise<R>,
): Promise<Extract<Answered<R>, { status: SuccessStatusCode }>["body"]> {
  const answer = await answered(response);
  if (answer.status < 200 || answer.status > 299) {
    throw new Error(`the API answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  }
  return answer.body;
}

/** The session a chat send reached (its first outcome's); throws when it reached none. */
export function sentSession(sent: { outcomes: { sessionId: string | null }[] }): SessionId {
  return SessionId.parse(sent.outcomes[0]?.sessionId);
}

/** A rate limit no test reaches unless it asks for a lower one. */
export const NO_RATE_LIMIT = { ratePerSecond: 1e6, burst: 1e6 };

/** Opens a dev control plane (the `demo` agent seeded) and an API over it (rate limit lifted unless given). */
export async function openTestApi(
  options: Partial<ApiOptions> = {},
  planeOptions: Pick<ControlPlaneOptions, "mcpAllowHostProcess"> = {},
): Promise<TestApi> {
  const dir = tempDir("ironclaw-api-");
  const plane = await ControlPlane.open({ ...planeOptions, stateDir: dir.path, dev: true, library: LIBRARY });
  const app = createApiApp(plane, { token: TEST_TOKEN, rateLimit: NO_RATE_LIMIT, ...options });
  let closed = false;
  return {
    app,
    plane,
    stateDir: dir.path,
    call: (method, path, callOptions) => callApp(app, method, path, callOptions),
    snapshot: () => planeSnapshot(plane),
    [Symbol.asyncDispose]: async () => {
      if (!closed) await plane.close().catch(() => {});
      closed = true;
      dir[Symbol.dispose]();
    },
  };
}

const bigintSafe = (_: string, v: unknown) => typeof v === "bigint" ? String(v) : v;

/** Every row of every table of the plane's state database, by table, rows sorted. */
function stateTables(plane: ControlPlane): [string, string[]][] {
  const db = plane.state.db;
  const tables = db.all<{ name: string }>(
    "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
  );
  return tables.map(({ name }) => [
    name,
    db.all(`SELECT * FROM "${name.replaceAll('"', '""')}"`).map((row) => JSON.stringify(row, bigintSafe))
      .sort(),
  ]);
}

/**
 * Everything a request could change, as one string: changes, the audit file,
 * the registry's views, open questions, parked sessions and every state table.
 * Equal snapshots before and after a refused request prove it changed nothing.
 */
export async function planeSnapshot(plane: ControlPlane): Promise<string> {
  // A send answers before its sandbox starts: the state is read once the starts it set off are done.
  await plane.waker.settled();
  const r = plane.registry;
  return JSON.stringify({
    pending: plane.gateway.pending(),
    history: plane.gateway.history(),
    audit: await Deno.readTextFile(plane.audit.path),
    agentGroups: r.listAgentGroups(),
    messagingGroups: r.listMessagingGroups(),
    wirings: r.listWirings(),
    sessions: r.listSessions(),
    people: r.listAgentGroups().map((
      g,
    ) => [r.listMembers(g.id), r.listRoles(g.id), r.listDestinations(g.id)]),
    questions: plane.desk.pending(),
    parked: plane.waker.parked(),
    tables: stateTables(plane),
  }, bigintSafe);
}
