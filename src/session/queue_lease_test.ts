import assert from "node:assert/strict";
import { QueueLease } from "./queue_lease.ts";

Deno.test("a host turn waits for the agent's lease; the agent waits for the host's turn", async () => {
  const lease = new QueueLease();
  const events: string[] = [];
  const agent = lease.request(() => events.push("revoked"));
  assert.equal(await agent.granted, true);
  assert.equal(lease.agentHolding, true);

  const host = lease.hold().then(() => {
    events.push(`host (agent holding: ${lease.agentHolding})`);
  });
  await Promise.resolve();
  events.push("agent releases");
  agent.release();
  await host;

  // During the host's turn a new request queues behind it.
  const next = lease.request(() => {});
  let granted = false;
  next.granted.then((g) => granted = g);
  await Promise.resolve();
  assert.equal(granted, false, "not granted inside the host turn");
  assert.equal(await next.granted, true, "granted once the turn ends");
  next.release();
  assert.deepEqual(events, ["agent releases", "host (agent holding: false)"]);
  lease.dispose();
});

Deno.test("the cap takes a lease back from an agent that never releases", async () => {
  const lease = new QueueLease({ capMs: 30 });
  let revoked = 0;
  const hung = lease.request(() => revoked++);
  assert.equal(await hung.granted, true);
  await lease.hold();
  assert.equal(lease.agentHolding, false);
  assert.equal(revoked, 1);
  assert.equal(lease.revocations, 1);
  hung.release(); // late and harmless
  const again = lease.request(() => {});
  assert.equal(await again.granted, true, "the next request is served");
  again.release();
  lease.dispose();
});

Deno.test("a withdrawn request is never granted; dispose ends everything", async () => {
  const lease = new QueueLease();
  const first = lease.request(() => {});
  await first.granted;
  const second = lease.request(() => {});
  second.release();
  assert.equal(await second.granted, false);
  const third = lease.request(() => {});
  lease.dispose();
  assert.equal(await third.granted, false);
  assert.equal(lease.agentHolding, false);
  await lease.hold(); // a disposed lease never blocks the host
  assert.equal(await lease.request(() => {}).granted, false);
  first.release();
});
