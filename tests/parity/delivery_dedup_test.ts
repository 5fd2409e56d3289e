/**
 * Parity §9.1 #7, black-box over delivery: an agent's reply is handed to its
 * channel exactly once however many passes see it. The reference kept its
 * dedup set in memory only (a [GAP]: a restart re-sent everything); here the
 * mark is durable in the session's inbound queue, so a host reopened on the
 * same state directory sends nothing again.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { SessionId } from "../../contract/ids.ts";
import { HostFixture } from "../support/host.ts";
import { tempDir } from "../support/mod.ts";

Deno.test("parity #7: a reply is delivered once across passes, and once across a host restart", async () => {
  using dir = tempDir();
  let sessionId: SessionId;
  {
    await using host = await HostFixture.open(dir.path);
    host.seedChat("fake", "C1");
    const routed = await host.router.route({
      channelType: "fake",
      platformId: "C1",
      senderHandle: "alice",
      text: "yo",
    });
    sessionId = routed.outcomes[0].sessionId!;
    assert.ok(sessionId);
    {
      using agent = await host.agent(sessionId);
      const row = agent.outbound.writeMessageOut({
        id: "o1",
        kind: "chat",
        channelType: "fake",
        platformId: "C1",
        content: "hi",
      });
      assert.equal(row.seq, 1, "the sandbox's first row takes the first odd seq");
    }
    const first = await host.delivery.deliverSession(sessionId);
    const second = await host.delivery.deliverSession(sessionId);
    assert.deepEqual(first.handled.map((h) => [h.id, h.outcome]), [["o1", "delivered"]]);
    assert.deepEqual(second.handled, [], "the second pass finds nothing new");
    assert.equal(host.fake.delivered.length, 1);
    assert.deepEqual(host.fake.delivered.map((m) => [m.id, m.channelType, m.platformId, m.content]), [
      ["o1", "fake", "C1", "hi"],
    ]);
    const marks = (await host.queues.inboundWriter(sessionId)).deliveredIds();
    assert.deepEqual([...marks], ["o1"], "the dedup set holds exactly the one row");
  }

  // [GAP fixed] A fresh host (new process memory) over the same directory does not deliver o1 again.
  await using host = await HostFixture.open(dir.path);
  const passes = await host.delivery.deliverAll();
  assert.deepEqual(passes.flatMap((p) => p.handled), []);
  assert.equal(host.fake.delivered.length, 0, "nothing is sent again");
  assert.equal((await host.queues.inboundWriter(sessionId)).deliveredIds().size, 1);

  // …while a new row after the restart still flows, once.
  {
    using agent = await host.agent(sessionId);
    agent.outbound.writeMessageOut({ id: "o2", kind: "chat", content: "again" });
  }
  await host.delivery.deliverAll();
  await host.delivery.deliverAll();
  assert.deepEqual(host.fake.delivered.map((m) => [m.id, m.platformId, m.content]), [["o2", "C1", "again"]]);
});
