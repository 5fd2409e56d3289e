import assert from "node:assert/strict";
import { callApp, NO_RATE_LIMIT, TEST_TOKEN } from "../../../tests/support/api.ts";
import { DEMO_AGENT_ID } from "../../control_plane/mod.ts";
import { openFakeSandboxPlane } from "../../../tests/support/plane.ts";
import { createApiApp } from "../app.ts";

Deno.test("a session whose sandbox keeps failing is parked, listed, and relaunched once unparked", async () => {
  await using t = await openFakeSandboxPlane();
  const app = createApiApp(t.plane, { token: TEST_TOKEN, rateLimit: NO_RATE_LIMIT });
  const call = (method: string, path: string) => callApp(app, method, path);
  const sent = await t.plane.webChat.send({ agentGroupId: DEMO_AGENT_ID, text: "hello" });
  const sessionId = sent.outcomes[0].sessionId!;
  assert.deepEqual((await call("GET", "/v1/sessions/parked")).body, []);
  assert.equal((await call("POST", `/v1/sessions/${sessionId}/unpark`)).status, 409);

  await t.plane.waker.stop(sessionId);
  for (let i = 0; i < 5; i++) t.plane.backoff.failure(sessionId, `launch failed: try ${i}`);
  const parked = await call("GET", "/v1/sessions/parked");
  assert.equal(parked.status, 200);
  assert.deepEqual(parked.body, [{
    sessionId,
    agentGroupId: DEMO_AGENT_ID,
    failures: 5,
    reason: "launch failed: try 4",
  }]);
  await assert.rejects(t.plane.waker.wake(sessionId), /parked/);
  assert.equal(t.isolator.of(sessionId).length, 1);

  const unparked = await call("POST", `/v1/sessions/${sessionId}/unpark`);
  assert.equal(unparked.status, 200, JSON.stringify(unparked.body));
  assert.deepEqual(unparked.body, { id: sessionId, status: "unparked" });
  assert.equal(t.isolator.of(sessionId).length, 2);
  assert.deepEqual((await call("GET", "/v1/sessions/parked")).body, []);
  assert.equal((await call("POST", "/v1/sessions/ses_0000000000000000/unpark")).status, 404);
  assert.equal((await call("POST", "/v1/sessions/..%2Fx/unpark")).status, 400);
});
