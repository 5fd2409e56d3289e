import assert from "node:assert/strict";
import { callApp, NO_RATE_LIMIT, TEST_TOKEN } from "../../../tests/support/api.ts";
import { DEMO_AGENT_ID } from "../../control_plane/mod.ts";
import { openFakeSandboxPlane } from "../../../tests/support/plane.ts";
import { createApiApp } from "../app.ts";

async function openApi(options: Parameters<typeof openFakeSandboxPlane>[0] = {}) {
  const fixture = await openFakeSandboxPlane(options);
  const app = createApiApp(fixture.plane, { token: TEST_TOKEN, rateLimit: NO_RATE_LIMIT });
  return {
    ...fixture,
    call: (method: string, path: string, body?: unknown) => callApp(app, method, path, { body }),
  };
}

Deno.test("POST /v1/ui/chat/send routes to the agent and wakes its sandbox; 202 with the outcome", async () => {
  await using api = await openApi();
  const sent = await api.call("POST", "/v1/ui/chat/send", { agentGroupId: DEMO_AGENT_ID, text: "hello" });
  assert.equal(sent.status, 202, JSON.stringify(sent.body));
  assert.equal(sent.body.chatId, DEMO_AGENT_ID);
  assert.equal(sent.body.engaged, true);
  assert.equal(sent.body.outcomes.length, 1);
  const [outcome] = sent.body.outcomes;
  assert.equal(outcome.kind, "engaged");
  await api.plane.waker.wake(outcome.sessionId); // the send does not wait for the start; this waits behind it
  assert.equal(api.isolator.of(outcome.sessionId).length, 1);

  const other = await api.call("POST", "/v1/ui/chat/send", {
    agentGroupId: DEMO_AGENT_ID,
    text: "x",
    chatId: "c-2",
  });
  assert.equal(other.body.chatId, "c-2");
  assert.notEqual(other.body.outcomes[0].sessionId, outcome.sessionId, "another chat is another session");
});

Deno.test("chat send refuses bad bodies and unknown agents, and changes nothing", async () => {
  await using api = await openApi();
  const cases: [unknown, RegExp][] = [
    [{ agentGroupId: DEMO_AGENT_ID }, /^text: /],
    [{ agentGroupId: DEMO_AGENT_ID, text: "   " }, /^text: must not be empty/],
    [{ agentGroupId: DEMO_AGENT_ID, text: "x", extra: 1 }, /^extra: unknown field/],
    [{ agentGroupId: DEMO_AGENT_ID, text: "x", chatId: "../etc" }, /^chatId: /],
    [{ agentGroupId: DEMO_AGENT_ID, text: "a\u0000b" }, /^text: control characters/],
    [{ agentGroupId: "nobody", text: "x" }, /^agentGroupId: agent group "nobody" not found/],
  ];
  for (const [body, error] of cases) {
    const answer = await api.call("POST", "/v1/ui/chat/send", body);
    assert.equal(answer.status, 400, JSON.stringify(body));
    assert.match(answer.body.error, error);
  }
  assert.equal(api.plane.registry.listSessions().length, 0);
  assert.equal(api.isolator.launches.length, 0);
});

Deno.test("GET /v1/ui/chat/drain hands replies out until acknowledged (after=), and can wait for the next", async () => {
  await using api = await openApi();
  const reply = (content: string) =>
    api.plane.webChat.deliver(
      {
        id: `m-${content}`,
        channelType: "web",
        platformId: "c1",
        threadId: null,
        content,
        timestamp: "2026-01-01T00:00:00.000Z",
      } as Parameters<typeof api.plane.webChat.deliver>[0],
    );
  await reply("one");
  const first = await api.call("GET", "/v1/ui/chat/drain?chatId=c1");
  assert.equal(first.status, 200);
  assert.deepEqual(first.body.messages.map((m: { content: string }) => m.content), ["one"]);
  assert.equal(first.body.messages[0].chatId, "c1");
  const seq = first.body.messages[0].seq;
  // Not acknowledged: handed out again (a client that died before showing it loses nothing).
  assert.deepEqual((await api.call("GET", "/v1/ui/chat/drain?chatId=c1")).body.messages, first.body.messages);
  assert.deepEqual((await api.call("GET", `/v1/ui/chat/drain?chatId=c1&after=${seq}`)).body.messages, []);

  const waiting = api.call("GET", `/v1/ui/chat/drain?chatId=c1&wait=30000&after=${seq}`);
  await reply("two");
  assert.deepEqual((await waiting).body.messages.map((m: { content: string }) => m.content), ["two"]);

  for (
    const query of [
      "",
      "?chatId=",
      "?chatId=c1&wait=-1",
      "?chatId=c1&wait=30001",
      "?chatId=c1&wait=x",
      "?chatId=c1&after=-1",
    ]
  ) {
    assert.equal((await api.call("GET", `/v1/ui/chat/drain${query}`)).status, 400, query);
  }
});

Deno.test("chat send at the session's backlog cap answers 429 with Retry-After, naming the session and its backlog", async () => {
  // No agent runs behind the fake isolator: nothing is ever answered.
  await using api = await openApi({ inboundBacklogCap: 2 });
  const send = (text: string, chatId?: string) =>
    api.call("POST", "/v1/ui/chat/send", {
      agentGroupId: DEMO_AGENT_ID,
      text,
      ...(chatId ? { chatId } : {}),
    });
  const accepted = [await send("one"), await send("two")];
  assert.deepEqual(accepted.map((a) => a.status), [202, 202]);
  const sessionId = accepted[0].body.outcomes[0].sessionId;

  const refused = await send("three");
  assert.equal(refused.status, 429, JSON.stringify(refused.body));
  assert.equal(refused.headers.get("retry-after"), "5");
  assert.deepEqual(Object.keys(refused.body), ["error"]);
  assert.match(
    refused.body.error,
    new RegExp(`^session ${sessionId} has 2 unanswered inbound messages \\(its cap is 2\\)`),
  );

  assert.equal(
    (await send("elsewhere", "c-2")).status,
    202,
    "another chat is another session, under its own cap",
  );
  const metrics = await api.call("GET", "/metrics");
  assert.match(metrics.body, /ironclaw_inbound_refused_total\{channel="web",reason="backlog-full"\} 1/);
});
