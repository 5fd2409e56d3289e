import assert from "node:assert/strict";
import { callApp, NO_RATE_LIMIT, TEST_TOKEN } from "../../../tests/support/api.ts";
import { DEMO_AGENT_ID } from "../../control_plane/mod.ts";
import { openFakeSandboxPlane } from "../../../tests/support/plane.ts";
import { answerMessageId } from "../../questions/mod.ts";
import { createApiApp } from "../app.ts";

Deno.test("questions: listed while open; an answer reaches the asking session and wakes it", async () => {
  await using t = await openFakeSandboxPlane();
  const app = createApiApp(t.plane, { token: TEST_TOKEN, rateLimit: NO_RATE_LIMIT });
  const call = (method: string, path: string, body?: unknown) => callApp(app, method, path, { body });
  const sent = await t.plane.webChat.send({ agentGroupId: DEMO_AGENT_ID, text: "hello" });
  const sessionId = sent.outcomes[0].sessionId!;
  await t.plane.waker.stop(sessionId);
  t.plane.questions.record({
    id: "q_1",
    sessionId,
    agentGroupId: DEMO_AGENT_ID,
    question: "Which colour?",
    options: ["red", "blue"],
    allowFreeform: false,
  });

  const open = await call("GET", "/v1/questions");
  assert.equal(open.status, 200);
  assert.deepEqual(open.body.map((q: { id: string }) => q.id), ["q_1"]);
  assert.deepEqual(open.body[0].options, ["red", "blue"]);

  const wrong = await call("POST", "/v1/questions/q_1/answer", {
    answer: "green",
    answeredBy: "web:console",
  });
  assert.equal(wrong.status, 400);
  assert.match(wrong.body.error, /choose one of/);
  assert.equal((await call("POST", "/v1/questions/q_1/answer", { answer: "red" })).status, 400);
  assert.equal(
    (await call("POST", "/v1/questions/nope/answer", { answer: "red", answeredBy: "me" })).status,
    404,
  );
  assert.equal(
    (await call("POST", "/v1/questions/..%2Fx/answer", { answer: "red", answeredBy: "me" })).status,
    400,
  );

  const answered = await call("POST", "/v1/questions/q_1/answer", {
    answer: "red",
    answeredBy: "web:console",
  });
  assert.equal(answered.status, 200, JSON.stringify(answered.body));
  assert.equal(answered.body.question.answer, "red");
  assert.equal(answered.body.message, answerMessageId("q_1"));
  assert.equal(answered.body.wakeError, undefined);
  // The answer woke the session: its sandbox was launched again.
  assert.equal(t.isolator.of(sessionId).length, 2);
  assert.ok(await t.plane.sandboxes.isRunning(sessionId));
  assert.deepEqual((await call("GET", "/v1/questions")).body, []);
  const again = await call("POST", "/v1/questions/q_1/answer", { answer: "blue", answeredBy: "web:console" });
  assert.equal(again.status, 409);
});
