import assert from "node:assert/strict";
import { openTestApi } from "../../../tests/support/api.ts";

Deno.test("when not ready, /readyz and every non-health route answer 503; /healthz stays up", async () => {
  await using api = await openTestApi();
  assert.deepEqual((await api.call("GET", "/readyz")).body, { status: "ready" });
  await api.plane.close();
  const readyz = await api.call("GET", "/readyz", { token: null });
  assert.equal(readyz.status, 503);
  assert.deepEqual(readyz.body, { status: "not ready", reason: "shutting down" });
  assert.equal((await api.call("GET", "/healthz", { token: null })).status, 200);
  for (
    const [method, path] of [
      ["GET", "/v1/changes/pending"],
      ["POST", "/v1/changes"],
      ["GET", "/v1/registry/agent-groups"],
      ["GET", "/metrics"],
      ["GET", "/v1/openapi.json"],
    ]
  ) {
    const answer = await api.call(method, path, method === "POST" ? { body: {} } : {});
    assert.equal(answer.status, 503, `${method} ${path}`);
    assert.deepEqual(answer.body, { error: "not ready: shutting down" });
  }
  assert.equal(
    (await api.call("GET", "/v1/changes/pending", { token: null })).status,
    401,
    "auth still first",
  );
});
