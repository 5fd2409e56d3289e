import assert from "node:assert/strict";
import type { SessionId } from "../../contract/ids.ts";
import { tempDir } from "../../tests/support/mod.ts";
import { openWakePath } from "../../tests/support/wake.ts";
import { RespawnBackoff } from "./backoff.ts";
import { GuardedWaker, SessionParkedError } from "./waker.ts";

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
  const { host, sessionId, clock, control, waker } = await openWakePath(dir.path);
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
    const { host, sessionId, clock, control, waker, escalations } = await openWakePath(dir.path);
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
  const { host, sessionId, control, waker } = await openWakePath(dir.path);
  await using _ = host;
  await assert.rejects(waker.wake(sessionId), SessionParkedError);
  assert.deepEqual(control.launches, []);
  assert.equal(await waker.unpark(sessionId), true);
  assert.deepEqual(control.launches, [sessionId]);
  assert.equal(host.registry.getSession(sessionId).containerStatus, "running");
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

Deno.test("wakeSoon answers once the wake is under way, not after the sandbox start; what fails before still throws", async () => {
  using dir = tempDir();
  const { host, sessionId, control, backoff } = await openWakePath(dir.path);
  await using _ = host;
  const told: SessionId[] = [];
  const waker = new GuardedWaker({
    control,
    backoff,
    registry: host.registry,
    autoRetry: false,
    onLaunchFailure: (id) => told.push(id),
  });
  const start = Promise.withResolvers<void>();
  const launch = control.launch.bind(control);
  control.launch = async (id) => {
    await start.promise;
    return await launch(id);
  };

  await waker.wakeSoon(sessionId);
  assert.deepEqual([control.launches, control.rings], [[], []], "answered while its sandbox starts");
  // A second message while it starts: answered at once too, and rung after the start.
  await waker.wakeSoon(sessionId);
  start.resolve();
  await waker.wake(sessionId);
  assert.deepEqual(control.launches, [sessionId], "one start");
  assert.ok(control.rings.length >= 2, "rung after the start, for the messages that came during it");

  // A start that fails after the answer is counted and told, not lost.
  await waker.stop(sessionId);
  control.failLaunch = new Error("runtime missing");
  await waker.wakeSoon(sessionId);
  // Queued behind it: by then the backoff defers the next start.
  await waker.wake(sessionId);
  assert.deepEqual(told, [sessionId]);
  assert.equal(backoff.failures(sessionId), 1);
  assert.deepEqual(waker.deferred().map((d) => d.sessionId), [sessionId], "retried after the backoff");

  backoff.park(sessionId, "test");
  await assert.rejects(waker.wakeSoon(sessionId), SessionParkedError);
  waker.close();
});
