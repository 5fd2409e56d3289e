import assert from "node:assert/strict";
import { ApiClient, describeFailure } from "./client.ts";
import { CliError } from "./errors.ts";

/** A loopback server answering from `handler`, recording each request. */
function serve(handler: (req: Request) => Response | Promise<Response>) {
  const seen: Headers[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    seen.push(new Headers(req.headers));
    return handler(req);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    seen,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

Deno.test("requests carry the bearer token, JSON body and query", async () => {
  const seen: { method: string; url: string; body: unknown }[] = [];
  await using api = serve(async (req) => {
    seen.push({ method: req.method, url: req.url, body: req.body ? await req.json() : null });
    return Response.json({});
  });
  const client = new ApiClient(`${api.url}/`, "t".repeat(20));
  const body = { kind: "persona", agentGroupId: "g", requestedBy: "cli:me", after: "calm" } as const;
  await client.call((rpc) => rpc.v1.changes.$post({ json: body }));
  assert.deepEqual(seen[0].method, "POST");
  assert.equal(new URL(seen[0].url).pathname, "/v1/changes");
  assert.deepEqual(seen[0].body, body);
  assert.equal(api.seen[0].get("authorization"), `Bearer ${"t".repeat(20)}`);
  assert.equal(api.seen[0].get("content-type"), "application/json");
  assert.equal(api.seen[0].get("accept"), "application/json");
  await client.call((rpc) => rpc.v1.registry.sessions.$get({ query: { agentGroupId: undefined } }));
  assert.equal(new URL(seen[1].url).search, "");
  await client.call((rpc) => rpc.v1.audit.$get({ query: { limit: "5" } }));
  assert.equal(new URL(seen[2].url).search, "?limit=5");
  // A path parameter is sent as the one segment it is.
  await client.call((rpc) => rpc.v1.changes[":id"].$get({ param: { id: encodeURIComponent("a/b?c") } }));
  assert.equal(new URL(seen[3].url).pathname, "/v1/changes/a%2Fb%3Fc");
});

Deno.test("API errors become their one line; 401 says how to supply the token", async () => {
  // Each route of the API answers one way here.
  await using api = serve((req) => {
    const path = new URL(req.url).pathname;
    if (path === "/v1/changes/pending") return Response.json({ error: "unauthorized" }, { status: 401 });
    if (path === "/v1/changes/chg_1") {
      return Response.json({ error: "unknown change chg_1\nsecond line" }, { status: 404 });
    }
    if (path === "/v1/audit") return Response.json({ error: "rate limit exceeded" }, { status: 429 });
    if (path === "/readyz") {
      return Response.json({ status: "not ready", reason: "starting" }, { status: 503 });
    }
    return new Response("<html>oops</html>", { status: 500, statusText: "Internal Server Error" });
  });
  const withToken = new ApiClient(api.url, "t".repeat(20));
  const without = new ApiClient(api.url, undefined);
  const pending = (client: ApiClient) => client.call((rpc) => rpc.v1.changes.pending.$get());
  await assert.rejects(
    pending(without),
    (e: unknown) => e instanceof CliError && /IRONCLAW_API_TOKEN/.test(e.message),
  );
  await assert.rejects(pending(withToken), /refused the token/);
  await assert.rejects(
    withToken.call((rpc) => rpc.v1.changes[":id"].$get({ param: { id: "chg_1" } })),
    (e: unknown) => (e as Error).message === "unknown change chg_1",
  );
  await assert.rejects(
    withToken.call((rpc) => rpc.v1.audit.$get({ query: {} })),
    /rate limit exceeded \(rate limited/,
  );
  await assert.rejects(
    withToken.call((rpc) => rpc.v1.changes.history.$get()),
    (e: unknown) => (e as Error).message === "HTTP 500 Internal Server Error",
  );
  assert.deepEqual(await withToken.answer((rpc) => rpc.readyz.$get(), [503]), {
    status: 503,
    body: { status: "not ready", reason: "starting" },
  });
  await assert.rejects(withToken.call((rpc) => rpc.readyz.$get()), /HTTP 503/);
});

Deno.test("a malformed API URL is refused with one line", () => {
  assert.throws(() => new ApiClient("127.0.0.1:8787", undefined), /invalid API URL/);
  assert.throws(() => new ApiClient("ftp://host", undefined), /only http and https/);
});

Deno.test("failure lines never span lines", () => {
  assert.equal(describeFailure(409, "Conflict", { error: "already decided" }, true), "already decided");
  assert.equal(describeFailure(502, "Bad Gateway", "x\ny", true), "HTTP 502 Bad Gateway");
});

Deno.test("an API error names the CLI flag, not the API's field", () => {
  assert.equal(
    describeFailure(400, "Bad Request", { error: 'agentGroupId: agent group "nope" not found' }, true),
    '--agent: agent group "nope" not found',
  );
  assert.equal(
    describeFailure(400, "", { error: "after.tools: unknown tool" }, true),
    "--after.tools: unknown tool",
  );
  assert.equal(describeFailure(400, "", { error: "kind: invalid" }, true), "kind: invalid");
});
