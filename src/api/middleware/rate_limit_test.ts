import assert from "node:assert/strict";
import { Hono } from "hono";
import { openTestApi } from "../../../tests/support/api.ts";
import type { ApiEnv } from "../env.ts";
import { rateLimit } from "./rate_limit.ts";

/** A one-route app behind the limiter, on a clock the test moves. */
function limited(ratePerSecond: number, burst: number) {
  const clock = { now: 0 };
  const app = new Hono<ApiEnv>();
  app.use("*", rateLimit({ ratePerSecond, burst }, () => clock.now));
  app.get("/", (c) => c.text("ok"));
  const hit = async (client: string) => {
    const res = await app.fetch(new Request("http://x/"), {
      remoteAddr: { transport: "tcp", hostname: client, port: 1 },
    });
    return { status: res.status, retryAfter: res.headers.get("retry-after"), body: await res.text() };
  };
  return { clock, hit };
}

Deno.test("each client gets a burst, then 429 with Retry-After, then tokens back at the rate", async () => {
  const { clock, hit } = limited(2, 3);
  for (let i = 0; i < 3; i++) assert.equal((await hit("10.0.0.1")).status, 200);
  const refused = await hit("10.0.0.1");
  assert.deepEqual(refused, { status: 429, retryAfter: "1", body: '{"error":"too many requests"}' });
  assert.equal((await hit("10.0.0.2")).status, 200, "another client has its own bucket");
  clock.now += 499;
  assert.equal((await hit("10.0.0.1")).status, 429, "not yet a whole token");
  clock.now += 1;
  assert.equal((await hit("10.0.0.1")).status, 200, "one token after 1/rate seconds");
  assert.equal((await hit("10.0.0.1")).status, 429);
  clock.now += 60_000;
  for (let i = 0; i < 3; i++) {
    assert.equal((await hit("10.0.0.1")).status, 200, "refilled to the burst, no more");
  }
  assert.equal((await hit("10.0.0.1")).status, 429);
});

Deno.test("Retry-After is whole seconds until the next token", async () => {
  const { hit } = limited(0.1, 1);
  await hit("c");
  assert.equal((await hit("c")).retryAfter, "10");
});

Deno.test("bad limits are refused at construction", () => {
  for (const [rate, burst] of [[0, 1], [-1, 1], [1, 0], [Infinity, 1], [1, NaN]]) {
    assert.throws(() => rateLimit({ ratePerSecond: rate, burst }), RangeError, `${rate}/${burst}`);
  }
});

Deno.test("the API answers 429 past the burst and records nothing", async () => {
  await using api = await openTestApi({ rateLimit: { ratePerSecond: 0.001, burst: 2 } });
  const submit = { kind: "persona", agentGroupId: "demo", requestedBy: "agent:demo", after: { soul: "x" } };
  assert.equal((await api.call("GET", "/v1/changes/pending")).status, 200);
  assert.equal((await api.call("GET", "/v1/changes/pending")).status, 200);
  const before = await api.snapshot();
  const refused = await api.call("POST", "/v1/changes", { body: submit });
  assert.equal(refused.status, 429);
  assert.equal(refused.headers.get("retry-after"), "1000");
  assert.deepEqual(refused.body, { error: "too many requests" });
  assert.equal(await api.snapshot(), before);
  assert.equal(
    (await api.call("GET", "/healthz", { token: null })).status,
    200,
    "token-less requests (probes) have their own bucket: the operator's is not theirs to use up",
  );
});
