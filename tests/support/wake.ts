/**
 * Test helpers for the wake path: a sandbox runtime in memory, and the
 * guarded waker and backoff over it on a clock the test moves.
 *
 * @module
 */
import type { SessionId } from "../../contract/ids.ts";
import { GuardedWaker, RegistryParking, RespawnBackoff, type SandboxControl } from "../../src/wake/mod.ts";
import { HostFixture } from "./host.ts";

/** A sandbox runtime in memory: launches can be made to fail, sandboxes to die. */
export class FakeControl implements SandboxControl {
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

/**
 * A host with one session (fake/C1 wired to g1), and the wake path over a
 * {@link FakeControl}: a backoff with registry parking and a guarded waker
 * that does not retry on its own, on a clock the test advances.
 */
export async function openWakePath(dir: string) {
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
