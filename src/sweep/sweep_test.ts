import assert from "node:assert/strict";
import type { SessionId } from "../../contract/ids.ts";
import { tempDir } from "../../tests/support/mod.ts";
import { HostFixture } from "../../tests/support/host.ts";
import { QueueProbe, type SessionProbe } from "./probe.ts";
import { decideStuckAction, type IdleStop, Sweep, SWEEP_PARALLEL } from "./sweep.ts";
import { openWakePath } from "../../tests/support/wake.ts";

/** A sweep over the wake path whose sandboxes are all healthy, hibernating by `idle`. */
function idleSweep(
  path: Awaited<ReturnType<typeof openWakePath>>,
  idle: IdleStop,
  patienceMs?: number,
): Sweep {
  const probe: SessionProbe = { probe: () => Promise.resolve({ heartbeatAgeMs: 1000, claimAgeMs: -1 }) };
  const { host, control, backoff, waker } = path;
  return new Sweep({ registry: host.registry, control, probe, backoff, waker, idle, patienceMs });
}

Deno.test("the stuck rule", () => {
  assert.equal(decideStuckAction({ heartbeatAgeMs: 1_800_001, claimAgeMs: -1 }), "kill-ceiling");
  assert.equal(decideStuckAction({ heartbeatAgeMs: 61_000, claimAgeMs: 61_000 }), "kill-claim");
  assert.equal(decideStuckAction({ heartbeatAgeMs: 10_000, claimAgeMs: 600_000 }), "none");
  assert.equal(decideStuckAction({ heartbeatAgeMs: 61_000, claimAgeMs: -1 }), "none");
  assert.equal(decideStuckAction({ heartbeatAgeMs: -1, claimAgeMs: -1 }), "none");
});

Deno.test("the sweep kills a stuck sandbox, resets a healthy one's backoff, and retries deferred wakes", async () => {
  using dir = tempDir();
  const { host, sessionId, clock, control, backoff, waker } = await openWakePath(dir.path);
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

Deno.test("idle hibernation: an idle sandbox with nothing waiting is stopped, a busy or recent one is not, and status lists it until it runs again", async () => {
  using dir = tempDir();
  const path = await openWakePath(dir.path);
  const { host, sessionId, control, backoff, waker } = path;
  await using _ = host;
  let idleMs = 0;
  let busy = false;
  const sweep = idleSweep(path, {
    afterMs: 600_000,
    idleMs: () => idleMs,
    busy: () => Promise.resolve(busy),
  });
  await waker.wake(sessionId);

  idleMs = 599_000;
  assert.deepEqual((await sweep.runOnce()).hibernated, [], "not idle long enough");
  idleMs = 600_000;
  busy = true;
  assert.deepEqual((await sweep.runOnce()).hibernated, [], "work waiting or in progress");
  assert.deepEqual(control.stops, []);

  busy = false;
  const report = await sweep.runOnce();
  assert.deepEqual(report.hibernated, [sessionId]);
  assert.deepEqual(control.stops, [sessionId]);
  assert.equal(backoff.failures(sessionId), 0, "a deliberate stop, not a crash");
  assert.deepEqual(await sweep.hibernated(), [sessionId]);

  // The next message wakes it: no longer hibernated.
  await waker.wake(sessionId);
  assert.deepEqual(control.launches, [sessionId, sessionId]);
  assert.deepEqual(await sweep.hibernated(), []);
});

Deno.test("idle hibernation: a message that arrives while the idle sandbox stops wakes it again at once", async () => {
  using dir = tempDir();
  const path = await openWakePath(dir.path);
  const { host, sessionId, control, waker } = path;
  await using _ = host;
  let checks = 0;
  // Idle when asked before the stop; a message is waiting when asked after it.
  const sweep = idleSweep(path, { afterMs: 1, idleMs: () => 10, busy: () => Promise.resolve(++checks > 1) });
  await waker.wake(sessionId);
  const report = await sweep.runOnce();
  assert.deepEqual(report.hibernated, []);
  assert.deepEqual(control.stops, [sessionId]);
  assert.deepEqual(control.launches, [sessionId, sessionId], "woken again after the stop");
  assert.deepEqual(await sweep.hibernated(), []);
});

Deno.test("idle hibernation at scale: sandboxes stop a few at a time, and one whose stop hangs holds none of the others", async () => {
  using dir = tempDir();
  const path = await openWakePath(dir.path);
  const { host, sessionId: hung, control, waker } = path;
  await using _ = host;
  const sessions = [hung];
  for (let i = 2; i <= 9; i++) {
    const { chat } = host.seedChat("fake", `C${i}`);
    sessions.push(host.registry.resolveSession("g1", chat.id, null, "shared").id);
  }
  let stopping = 0;
  let most = 0;
  const stop = control.stop.bind(control);
  control.stop = async (id) => {
    if (id === hung) return await new Promise<void>(() => {});
    most = Math.max(most, ++stopping);
    await new Promise((resolve) => setTimeout(resolve, 10));
    stopping--;
    await stop(id);
  };
  const sweep = idleSweep(path, { afterMs: 1, idleMs: () => 10, busy: () => Promise.resolve(false) }, 50);
  for (const id of sessions) await waker.wake(id);

  const report = await sweep.runOnce();
  assert.deepEqual(report.hibernated.sort(), sessions.filter((id) => id !== hung).sort());
  assert.ok(most > 1 && most <= SWEEP_PARALLEL, `stops at once: ${most}`);
  assert.deepEqual(report.errors.map((e) => e.sessionId), [hung], "the hung stop is reported");
  assert.deepEqual((await sweep.hibernated()).sort(), report.hibernated.sort(), "status lists them");
});
