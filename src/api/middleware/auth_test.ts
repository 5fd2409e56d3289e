import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { LogRecord } from "@logtape/logtape";
import { configureLogging } from "../../log/mod.ts";
import { openTestApi, TEST_TOKEN } from "../../../tests/support/api.ts";
import { bearerCheck, bearerMatches } from "./auth.ts";

const expected = createHash("sha256").update(TEST_TOKEN).digest();

Deno.test("bearerMatches accepts exactly 'Bearer <token>'", () => {
  assert.ok(bearerMatches(`Bearer ${TEST_TOKEN}`, expected));
  assert.ok(bearerMatches(`bearer ${TEST_TOKEN}`, expected), "the scheme is case-insensitive");
  for (
    const header of [
      undefined,
      "",
      TEST_TOKEN,
      `Basic ${TEST_TOKEN}`,
      `Bearer ${TEST_TOKEN}x`,
      `Bearer ${TEST_TOKEN.slice(0, -1)}`,
      `Bearer ${TEST_TOKEN} extra`,
      "Bearer ",
    ]
  ) {
    assert.equal(bearerMatches(header, expected), false, String(header));
  }
});

Deno.test("every route but the health probes needs the token; 401 is {error: unauthorized}", async () => {
  await using api = await openTestApi();
  for (
    const path of [
      "/v1/changes/pending",
      "/metrics",
      "/v1/openapi.json",
      "/v1/registry/agent-groups",
      "/v1/nope",
    ]
  ) {
    for (const token of [null, "wrong-token-0123456789abcdef", ""]) {
      const answer = await api.call("GET", path, { token });
      assert.equal(answer.status, 401, `${path} with ${token}`);
      assert.deepEqual(answer.body, { error: "unauthorized" });
      assert.equal(answer.headers.get("www-authenticate"), 'Bearer realm="ironclaw"');
    }
    assert.notEqual((await api.call("GET", path)).status, 401, path);
  }
  for (const path of ["/healthz", "/readyz"]) {
    assert.equal((await api.call("GET", path, { token: null })).status, 200);
  }
});

Deno.test("a refused write changes nothing", async () => {
  await using api = await openTestApi();
  const before = await api.snapshot();
  const answer = await api.call("POST", "/v1/changes", {
    token: null,
    body: { kind: "persona", agentGroupId: "demo", requestedBy: "x", after: { soul: "y" } },
  });
  assert.equal(answer.status, 401);
  assert.equal(await api.snapshot(), before);
});

Deno.test("request logs carry method, route and status but never the token", async () => {
  const seen: LogRecord[] = [];
  await configureLogging({ sink: (r) => void seen.push(r), level: "debug" });
  try {
    await using api = await openTestApi();
    await api.call("GET", "/v1/changes/pending");
    await api.call("GET", "/v1/changes/pending", { token: "wrong-token-0123456789abcdef" });
    const lines = seen.filter((r) => r.category.join(".") === "ironclaw.api");
    assert.deepEqual(lines.map((r) => [r.properties.route, r.properties.status]), [
      ["/v1/changes/pending", 200],
      ["/v1/changes/pending", 401],
    ]);
    const all = JSON.stringify(seen);
    assert.ok(!all.includes(TEST_TOKEN) && !all.includes("wrong-token"), "no token in any log record");
  } finally {
    await configureLogging({ sink: () => {} });
  }
});

Deno.test("bearerCheck hashes a request's token once: the rate limit and the auth share the answer", () => {
  const carriesToken = bearerCheck(TEST_TOKEN);
  const request = new Request("http://127.0.0.1/v1/x", {
    headers: { authorization: `Bearer ${TEST_TOKEN}` },
  });
  assert.ok(carriesToken(request));
  request.headers.set("authorization", "Bearer wrong-token-0123456789abcdef");
  assert.ok(carriesToken(request), "the first answer for this request stands");
  const other = new Request("http://127.0.0.1/v1/x", {
    headers: { authorization: request.headers.get("authorization")! },
  });
  assert.equal(carriesToken(other), false);
  assert.equal(carriesToken(new Request("http://127.0.0.1/v1/x")), false);
  assert.throws(() => bearerCheck(""), /non-empty token/);
});
