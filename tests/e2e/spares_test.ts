/**
 * Warm spares under real runsc: after a conversation's first launch its
 * agent group keeps a spare booted; the conversation, hibernated, wakes
 * into that spare, and a second conversation claims the next one. Each
 * spare serves the one session that claimed it: every message is answered
 * once, in its own chat, and nothing is lost.
 */
import assert from "node:assert/strict";
import type { SessionId } from "../../contract/ids.ts";
import { DEMO_AGENT_ID } from "../../src/control_plane/mod.ts";
import { FakeAdapter } from "../support/host.ts";
import { tempDir } from "../support/mod.ts";
import { backendWorks, diagnose, until } from "./harness.ts";
import { openPlane } from "./plane.ts";

type Host = Awaited<ReturnType<typeof openPlane>>;

/** Wires fake chat `platformId` to the demo agent (every message engages it) and sends `text` there. */
async function say(host: Host, platformId: string, text: string) {
  const r = host.plane.registry;
  r.grantRole({ userId: "fake:alice", role: "owner" });
  const chat = r.getOrCreateMessagingGroup({ channelType: "fake", platformId });
  if (!r.listWirings().some((w) => w.messagingGroupId === chat.id)) {
    r.putWiring({
      messagingGroupId: chat.id,
      agentGroupId: DEMO_AGENT_ID,
      engageMode: "pattern",
      engagePattern: ".",
    });
  }
  const routed = await host.plane.router.route({
    channelType: "fake",
    platformId,
    senderHandle: "alice",
    text,
  });
  const outcome = routed.outcomes[0];
  assert.equal(outcome.wakeError, undefined);
  return { sessionId: outcome.sessionId as SessionId, messageId: outcome.messageId! };
}

/** Waits until the demo group has a spare booted and waiting. */
function spareReady(host: Host): Promise<true> {
  return until(
    () => Promise.resolve(host.plane.sandboxes.spareCount(DEMO_AGENT_ID) > 0 || undefined),
    () => diagnose(host),
  );
}

/** Whether the session's sandbox is one that was booted as a spare (its log is named by the spare). */
function fromSpare(host: Host, sessionId: SessionId): boolean {
  return /\/spare-[0-9a-f]+\.log$/.test(host.plane.sandboxes.logPath(sessionId) ?? "");
}

Deno.test({
  name: "spares: a hibernated conversation wakes into a warm spare and a new one claims the next (runsc)",
  ignore: !(await backendWorks("runsc")),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    using dir = tempDir("ironclaw-e2e-spares-");
    const fake = new FakeAdapter("fake");
    await using host = await openPlane(dir.path, {
      isolator: "runsc",
      channels: [fake],
      warmSpares: 1,
      // Any sandbox idle for 1 ms with nothing waiting is hibernated by the sweep passes below.
      idleStopMs: 1,
    });
    const one = await say(host, "C1", "one");
    await fake.until(1);
    assert.equal(
      fromSpare(host, one.sessionId),
      false,
      "the group's first launch is cold: no traffic before it",
    );
    await spareReady(host);

    const hibernated = await until(async () => {
      await host.plane.sweep.runOnce();
      const ids = await host.plane.sweep.hibernated();
      return ids.length > 0 ? ids : undefined;
    }, () => diagnose(host));
    assert.deepEqual(hibernated, [one.sessionId]);

    const two = await say(host, "C1", "two");
    assert.equal(two.sessionId, one.sessionId, "the same session, woken");
    await fake.until(2);
    assert.ok(fromSpare(host, one.sessionId), "woken into the spare");

    await spareReady(host);
    const other = await say(host, "C2", "other");
    assert.notEqual(other.sessionId, one.sessionId);
    await fake.until(3);
    assert.ok(fromSpare(host, other.sessionId), "the new conversation claimed the next spare");
    // It rehearsed its first turn before it waited (queue work, an answer in memory), and cleaned up (or the
    // claim refuses it).
    const spareLog = await Deno.readTextFile(host.plane.sandboxes.logPath(other.sessionId)!);
    assert.match(spareLog, /"event":"spare.rehearsed"/);
    assert.match(spareLog, /"event":"spare.rehearsed_answer"/);
    assert.doesNotMatch(spareLog, /spare\.rehearsal_(failed|left)/);
    assert.notEqual(
      host.plane.sandboxes.logPath(other.sessionId),
      host.plane.sandboxes.logPath(one.sessionId),
    );

    await host.plane.delivery.deliverAll();
    assert.deepEqual(fake.delivered.map((m) => [m.platformId, m.inReplyTo, m.content]), [
      ["C1", one.messageId, "mock-agent received: one"],
      ["C1", two.messageId, "mock-agent received: two"],
      ["C2", other.messageId, "mock-agent received: other"],
    ]);
    for (const [sessionId, answers] of [[one.sessionId, 2], [other.sessionId, 1]] as const) {
      const out = (await host.plane.queues.outboundReader(sessionId)).dueMessages().messages;
      assert.equal(out.filter((m) => m.kind === "chat").length, answers, "each message answered once");
    }
  },
});
