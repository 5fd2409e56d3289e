import assert from "node:assert/strict";
import type { AgentGroupId, SessionId } from "../../contract/ids.ts";
import { tempDir } from "../../tests/support/mod.ts";
import { HostFixture } from "../../tests/support/host.ts";
import { SessionParkedError } from "../wake/mod.ts";

function route(host: HostFixture) {
  return host.router.route({ channelType: "fake", platformId: "C1", senderHandle: "alice", text: "hi" });
}

Deno.test("a harness runs the plane's glue: apply respawns, a damaged queue parks, the web chat is an adapter", async () => {
  using dir = tempDir();
  let sessionId: SessionId;
  {
    const host = await HostFixture.open(dir.path);
    host.seedChat();
    sessionId = (await route(host)).outcomes[0].sessionId!;
    assert.equal(host.adapters.get("web"), host.webChat, "delivery hands web replies to the web chat");

    const change = await host.gateway.submit({
      kind: "persona",
      agentGroupId: "g1" as AgentGroupId,
      requestedBy: "test",
      after: { soul: "changed" },
    });
    const { record } = await host.gateway.decide(change.request.id, "approve", "test:human");
    assert.equal(record.status, "applied");
    assert.deepEqual(host.respawned, ["g1"], "an applied persona change respawns the group's sandboxes");
    const inbound = host.queues.paths(sessionId).inbound;
    await host[Symbol.asyncDispose]();
    using file = await Deno.open(inbound, { write: true });
    await file.write(new Uint8Array(8192).fill(0x5a));
  }
  await using host = await HostFixture.open(dir.path);
  const { outcomes } = await route(host);
  assert.equal(outcomes[0].kind, "queue-damaged");
  assert.equal(host.registry.getSession(sessionId).containerStatus, "parked");
  assert.deepEqual(host.backoff.parked().map((p) => p.sessionId), [sessionId]);
  assert.match(host.backoff.parked()[0].reason, /queue file damaged/);
});

Deno.test("a message to a session already parked tells its chat so, once per interval", async () => {
  using dir = tempDir();
  await using host = await HostFixture.open(dir.path);
  host.seedChat();
  const sessionId = (await route(host)).outcomes[0].sessionId!;
  assert.equal(host.fake.delivered.length, 0, "a healthy wake sends no notice");

  host.waker.failWith = new SessionParkedError(sessionId);
  const { outcomes } = await route(host);
  assert.match(outcomes[0].wakeError ?? "", /parked/, "the message is queued and the wake still fails");
  await host.fake.until(1);
  const notice = host.fake.delivered[0];
  assert.equal(notice.kind, "system");
  assert.equal(notice.sessionId, sessionId);
  assert.match(notice.content, new RegExp(`queued.*parked.*ironclaw session unpark ${sessionId}`));

  await route(host);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(host.fake.delivered.length, 1, "a second message within the interval gets no second notice");
  assert.deepEqual(host.notices.recent(sessionId).map((n) => n.topic), ["parked"]);
});
