/**
 * A sandbox killed mid-turn: the agent process of a session is SIGKILLed
 * right after a message was queued and rung (before or during its turn);
 * the control plane sees it die, relaunches it through the backoff, and the
 * message is answered exactly once.
 */
import assert from "node:assert/strict";
import { faultDir } from "./serve_process.ts";
import { agentPids, drainReplies, openFaultPlane, send } from "./inplane.ts";
import { diagnose } from "../e2e/harness.ts";

function launches(metrics: string): number {
  return Number(/^ironclaw_sandbox_launches_total (\d+)$/m.exec(metrics)?.[1] ?? 0);
}

Deno.test("fault: an agent SIGKILLed mid-turn is relaunched and the message is answered once", async () => {
  await using dir = faultDir("ironclaw-fault-sandbox-");
  await using host = await openFaultPlane(dir.path);
  const sessionId = await send(host, "k", "warm up");
  assert.deepEqual(await drainReplies(host, "k", 1), ["mock-agent received: warm up"], await diagnose(host));
  const [pid, ...more] = agentPids(sessionId);
  assert.ok(pid && more.length === 0, `one agent process for ${sessionId}: ${[pid, ...more]}`);

  await send(host, "k", "are you still there?");
  Deno.kill(pid, "SIGKILL");
  const replies = await drainReplies(host, "k", 1);
  assert.deepEqual(replies, ["mock-agent received: are you still there?"], await diagnose(host));
  assert.equal(launches(host.plane.metrics.render()), 2, "relaunched once");
  assert.notDeepEqual(agentPids(sessionId), [pid]);
  assert.equal(host.plane.waker.parked().length, 0);
  // And it keeps answering, once each.
  await send(host, "k", "and again");
  assert.deepEqual(await drainReplies(host, "k", 1), ["mock-agent received: and again"]);
});
