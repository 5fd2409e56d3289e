import assert from "node:assert/strict";
import type { SessionId } from "../../contract/ids.ts";
import { tempDir } from "../../tests/support/mod.ts";
import { HostFixture } from "../../tests/support/host.ts";
import { RespawnBackoff } from "./backoff.ts";
import { RegistryParking } from "./parking.ts";
import { QueueProbe, type SessionProbe } from "./probe.ts";
import { decideStuckAction, Sweep } from "./sweep.ts";
import { GuardedWaker, type SandboxControl, SessionParkedError } from "./waker.ts";

/** A sandbox runtime in memory: launches can be made to fail, sandboxes to die. */
class FakeControl implements SandboxControl {
  running = new Set<SessionId>();
  launches: SessionId[] = [];
  rings: SessionId[] = [];
  stops: SessionId[] = [];
  failLaunch: Error | undefined;

  isRunning(id: SessionId) {
    return Promise.resolve(this.running.has(id));
  }
  launch(id: SessionId) {
    this.launches.push(id);
    if (this.failLaunch) return Promise.reject(this.failLaunch);
    this.running.add(id);
    return Promise.resolve();
  }
  ring(id: SessionId) {
    this.rings.push(id);
  }
  stop(id: SessionId) {
    this.stops.push(id);
    this.running.delete(id);
    return Promise.resolve();
  }
}

async function setup(dir: string) {
  const host = await HostFixture.open(dir);
  const { chat } = host.seedChat();
  const sessionId = host.registry.resolveSession("g1", chat.id, null, "shared").id;
  let now = 0;
  const clock = { now: () => now, advance: (ms: number) => void (now += ms) };
  const control = new FakeControl();
  const escalations: string[] = [];
  const backoff = new RespawnBackoff({
    now: clock.now,
    parking: new RegistryParking(host.registry),
    onPark: (id, reason) => escalations.push(`${id}: ${reason}`),
  });
  const waker = new GuardedWaker({
    control,
    backoff,
    registry: host.registry,
    autoRetry: false,
    now: clock.now,
  });
  return { host, sessionId, clock, control, backoff, waker, escalations };
}

Deno.test("the stuck rule", () => {
  assert.equal(decideStuckAction({ heartbeatAgeMs: 1_800_001, claimAgeMs: -1 }), "kill-ceiling");
  assert.equal(decideStuckAction({ heartbeatAgeMs: 61_000, claimAgeMs: 61_000 }), "kill-claim");
  assert.equal(decideStuckAction({ heartbeatAgeMs: 10_000, claimAgeMs: 600_000 }), "none");
  assert.equal(decideStuckAction({ heartbeatAgeMs: 61_000, claimAgeMs: -1 }), "none");
  assert.equal(decideStuckAction({ heartbeatAgeMs: -1, claimAgeMs: -1 }), "none");
});

Deno.test("backoff doubles to its cap, parks once at the limit, and a healthy beat resets it", () => {
  let now = 0;
  const parked: string[] = [];
  const b = new RespawnBackoff({
    now: () => now,
    baseMs: 1000,
    maxMs: 3000,
    parkAfter: 4,
    onPark: (id) => parked.push(id),
  });
  const s = "ses_a" as SessionId;
  assert.deepEqual(b.failure(s, "x"), { allowed: false, parked: false, waitMs: 1000 });
  assert.deepEqual(b.failure(s, "x"), { allowed: false, parked: false, waitMs: 2000 });
  assert.deepEqual(b.failure(s, "x"), { allowed: false, parked: false, waitMs: 3000 });
  assert.deepEqual(b.allow(s), { allowed: false, parked: false, waitMs: 3000 });
  now = 3000;
  assert.deepEqual(b.allow(s), { allowed: true });
  b.success(s);
  assert.equal(b.failures(s), 0);
  for (let i = 0; i < 5; i++) b.failure(s, `crash ${i}`);
  assert.deepEqual(b.allow(s), { allowed: false, parked: true });
  assert.deepEqual(parked, [s], "escalated once");
  b.success(s);
  assert.deepEqual(b.allow(s), { allowed: false, parked: true }, "only an operator unparks");
  assert.deepEqual(b.parked(), [{ sessionId: s, failures: 5, reason: "crash 4" }]);
  assert.equal(b.unpark(s), true);
  assert.deepEqual(b.allow(s), { allowed: true });
});

Deno.test("the waker launches once, rings a running sandbox, and defers a launch in backoff", async () => {
  using dir = tempDir();
  const { host, sessionId, clock, control, waker } = await setup(dir.path);
  await using _ = host;
  await waker.wake(sessionId);
  await waker.wake(sessionId);
  assert.deepEqual(control.launches, [sessionId]);
  assert.deepEqual(control.rings, [sessionId, sessionId]);
  assert.equal(host.registry.getSession(sessionId).containerStatus, "running");

  // The sandbox dies on its own: a crash, so the relaunch waits.
  control.running.clear();
  await waker.wake(sessionId);
  assert.deepEqual(control.launches, [sessionId], "no relaunch during the backoff");
  assert.deepEqual(waker.deferred(), [{ sessionId, at: 1000 }]);
  assert.deepEqual(await waker.retryDeferred(), [], "not yet");
  clock.advance(1000);
  assert.deepEqual(await waker.retryDeferred(), [sessionId]);
  assert.deepEqual(control.launches, [sessionId, sessionId]);
});

Deno.test("repeated launch failures park the session durably; an operator unparks it", async () => {
  using dir = tempDir();
  {
    const { host, sessionId, clock, control, waker, escalations } = await setup(dir.path);
    await using _ = host;
    control.failLaunch = new Error("no runtime");
    for (let i = 0; i < 5; i++) {
      await assert.rejects(waker.wake(sessionId), /no runtime/);
      clock.advance(600_000);
    }
    await assert.rejects(waker.wake(sessionId), SessionParkedError);
    assert.equal(control.launches.length, 5, "a parked session is never launched");
    assert.equal(host.registry.getSession(sessionId).containerStatus, "parked");
    assert.equal(escalations.length, 1);
    assert.deepEqual(waker.parked().map((p) => p.sessionId), [sessionId]);
  }
  // After a restart the session is still parked; the router's wake reports it.
  const { host, sessionId, control, waker } = await setup(dir.path);
  await using _ = host;
  await assert.rejects(waker.wake(sessionId), SessionParkedError);
  assert.deepEqual(control.launches, []);
  assert.equal(await waker.unpark(sessionId), true);
  assert.deepEqual(control.launches, [sessionId]);
  assert.equal(host.registry.getSession(sessionId).containerStatus, "running");
});

Deno.test("the sweep kills a stuck sandbox, resets a healthy one's backoff, and retries deferred wakes", async () => {
  using dir = tempDir();
  const { host, sessionId, clock, control, backoff, waker } = await setup(dir.path);
  await using _ = host;
  const ages = new Map<SessionId, { heartbeatAgeMs: number; claimAgeMs: number }>();
  const probe: SessionProbe = { probe: (id) => Promise.resolve(ages.get(id)!) };
  const sweep = new Sweep({ registry: host.registry, control, probe, backoff, waker });
  await waker.wake(sessionId);

  ages.set(sessionId, { heartbeatAgeMs: 90_000, claimAgeMs: 120_000 });
  const stuck = await sweep.runOnce();
  assert.deepEqual(stuck.killed, [sessionId]);
  assert.deepEqual(control.stops, [sessionId]);
  assert.equal(backoff.failures(sessionId), 1);

  clock.advance(1000);
  const retried = await sweep.runOnce();
  assert.deepEqual(
    retried.rewoken,
    [sessionId],
    "the kill's deferred relaunch happens once the wait is over",
  );
  assert.deepEqual(control.launches, [sessionId, sessionId]);
  ages.set(sessionId, { heartbeatAgeMs: 2000, claimAgeMs: -1 });
  const healthy = await sweep.runOnce();
  assert.deepEqual(healthy.healthy, [sessionId]);
  assert.equal(backoff.failures(sessionId), 0);
});

Deno.test("the queue probe reads the heartbeat file and the oldest open claim", async () => {
  using dir = tempDir();
  await using host = await HostFixture.open(dir.path);
  const { chat } = host.seedChat();
  const sessionId = host.registry.resolveSession("g1", chat.id, null, "shared").id;
  const beat = `${dir.path}/heartbeat`;
  const probe = new QueueProbe({
    queues: host.queues,
    heartbeatPath: () => beat,
    now: () => Date.now() + 5000,
  });
  assert.deepEqual(await probe.probe(sessionId), { heartbeatAgeMs: -1, claimAgeMs: -1 });
  Deno.writeTextFileSync(beat, "now");
  using agent = await host.agent(sessionId);
  agent.outbound.markProcessing(["m1"]);
  const seen = await probe.probe(sessionId);
  assert.ok(seen.heartbeatAgeMs >= 5000 && seen.heartbeatAgeMs < 65_000, JSON.stringify(seen));
  assert.ok(seen.claimAgeMs >= 5000 && seen.claimAgeMs < 65_000, JSON.stringify(seen));
  agent.outbound.markCompleted(["m1"]);
  assert.equal((await probe.probe(sessionId)).claimAgeMs, -1);
});

Deno.test("backoff.park parks at once, durably, with its reason; unpark releases it", () => {
  const parked = new Set<SessionId>();
  const reasons: string[] = [];
  const backoff = new RespawnBackoff({
    parking: {
      park: (sid) => parked.add(sid),
      unpark: (sid) => parked.delete(sid),
      parked: () => [...parked],
    },
    onPark: (_sid, reason) => reasons.push(reason),
  });
  const sid = "ses_damaged" as SessionId;
  assert.deepEqual(backoff.park(sid, "queue file damaged"), { allowed: false, parked: true });
  assert.deepEqual(backoff.allow(sid), { allowed: false, parked: true });
  assert.deepEqual([...parked], [sid]);
  assert.deepEqual(reasons, ["queue file damaged"]);
  backoff.park(sid, "queue file damaged");
  assert.equal(reasons.length, 1, "parking twice reports once");
  assert.equal(backoff.unpark(sid), true);
  assert.deepEqual([...parked], []);
});
