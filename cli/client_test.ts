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
  await using api = serve(async (req) =>
    Response.json({ method: req.method, url: req.url, body: req.body ? await req.json() : null })
  );
  const client = new ApiClient(`${api.url}/`, "t".repeat(20));
  const got = await client.post<{ method: string; body: unknown }>("/v1/changes", { kind: "persona" });
  assert.deepEqual(got.method, "POST");
  assert.deepEqual(got.body, { kind: "persona" });
  assert.equal(api.seen[0].get("authorization"), `Bearer ${"t".repeat(20)}`);
  assert.equal(api.seen[0].get("content-type"), "application/json");
  const listed = await client.get<{ url: string }>("/v1/audit", { query: { limit: 5, skip: undefined } });
  assert.equal(new URL(listed.url).search, "?limit=5");
});

Deno.test("API errors become their one line; 401 says how to supply the token", async () => {
  await using api = serve((req) => {
    const path = new URL(req.url).pathname;
    if (path === "/unauthorized") return Response.json({ error: "unauthorized" }, { status: 401 });
    if (path === "/missing") {
      return Response.json({ error: "unknown change chg_1\nsecond line" }, { status: 404 });
    }
    if (path === "/busy") return Response.json({ error: "rate limit exceeded" }, { status: 429 });
    if (path === "/ready") return Response.json({ status: "not ready" }, { status: 503 });
    return new Response("<html>oops</html>", { status: 500, statusText: "Internal Server Error" });
  });
  const withToken = new ApiClient(api.url, "t".repeat(20));
  const without = new ApiClient(api.url, undefined);
  await assert.rejects(
    without.get("/unauthorized"),
    (e: unknown) => e instanceof CliError && /IRONCLAW_API_TOKEN/.test(e.message),
  );
  await assert.rejects(withToken.get("/unauthorized"), /refused the token/);
  await assert.rejects(
    withToken.get("/missing"),
    (e: unknown) => (e as Error).message === "unknown change chg_1",
  );
  await assert.rejects(withToken.get("/busy"), /rate limit exceeded \(rate limited/);
  await assert.rejects(
    withToken.get("/other"),
    (e: unknown) => (e as Error).message === "HTTP 500 Internal Server Error",
  );
  assert.deepEqual(await withToken.request("GET", "/ready", {}, [503]), {
    status: 503,
    body: { status: "not ready" },
  });
});

Deno.test("a malformed API URL is refused with one line", () => {
  assert.throws(() => new ApiClient("127.0.0.1:8787", undefined), /invalid API URL/);
  assert.throws(() => new ApiClient("ftp://host", undefined), /only http and https/);
});

Deno.test("failure lines never span lines", () => {
  assert.equal(describeFailure(409, "Conflict", { error: "already decided" }, true), "already decided");
  assert.equal(describeFailure(502, "Bad Gateway", "x\ny", true), "HTTP 502 Bad Gateway");
});
