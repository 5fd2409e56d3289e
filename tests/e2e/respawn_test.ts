/**
 * The approve → respawn path end to end: the sandboxed agent asks for a
 * capability (the mock model's tool-call form), the change waits for a
 * human, the approval applies it and restarts the group's sandboxes, and
 * the restarted agent answers the next message.
 */
import assert from "node:assert/strict";
import { DEMO_AGENT_ID } from "../../src/control_plane/mod.ts";
import { approveChange, diagnose, nextReplies, openHost, pendingChanges } from "./harness.ts";
import { answered, sentSession } from "../support/api.ts";

function launches(metrics: string): number {
  return Number(/^ironclaw_sandbox_launches_total (\d+)$/m.exec(metrics)?.[1] ?? 0);
}

Deno.test("e2e: an agent's capability request, approved, respawns its sandbox with the change, which answers on", async () => {
  await using host = await openHost("process");
  const request = {
    kind: "persona",
    payload: { instructions: "Answer in one short sentence." },
    reason: "the operator asked for brevity",
  };
  const sent = await answered(host.api.v1.ui.chat.send.$post({
    json: {
      agentGroupId: DEMO_AGENT_ID,
      text: `tool:request_capability_change ${JSON.stringify(request)}`,
    },
  }));
  assert.equal(sent.status, 202, JSON.stringify(sent.body));
  const sessionId = sentSession(sent.body);
  const [reply] = await nextReplies(host, sent.body.chatId);
  assert.match(reply, /^mock-agent tool result: persona change submitted for human approval/);

  // The agent writes its request's system row after the reply: the change waits for a human once it lands.
  const pending = await pendingChanges(host);
  assert.equal(pending.length, 1, JSON.stringify(pending));
  const change = pending[0];
  assert.equal(change.request.kind, "persona");
  assert.equal(change.request.agentGroupId, DEMO_AGENT_ID);
  assert.deepEqual(change.request.after, request.payload);
  assert.equal(launches(host.plane.metrics.render()), 1);
  assert.ok(await host.plane.sandboxes.isRunning(sessionId));

  await approveChange(host, change.request.id);
  assert.match(host.plane.registry.getAgentGroup(DEMO_AGENT_ID).personaDocs.instructions ?? "", /one short/);

  // The approval restarted the group's sandbox: a second launch, running, and not counted as a failure.
  assert.equal(launches(host.plane.metrics.render()), 2, await diagnose(host));
  assert.ok(await host.plane.sandboxes.isRunning(sessionId), await diagnose(host));
  assert.equal(host.plane.registry.getSession(sessionId).containerStatus, "running");
  assert.equal(host.plane.backoff.failures(sessionId), 0);

  const next = await answered(host.api.v1.ui.chat.send.$post({
    json: {
      agentGroupId: DEMO_AGENT_ID,
      text: "still there?",
      chatId: sent.body.chatId,
    },
  }));
  assert.equal(next.status, 202, JSON.stringify(next.body));
  assert.equal(next.body.outcomes[0].sessionId, sessionId);
  assert.deepEqual(await nextReplies(host, sent.body.chatId), ["mock-agent received: still there?"]);
  // One agent log per session, appended: two agents ran in it, the second one answered.
  const log = await Deno.readTextFile(host.plane.sandboxes.logPath(sessionId)!);
  assert.equal(log.match(/"event":"agent\.started"/g)?.length, 2, log);
});
