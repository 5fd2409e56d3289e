import assert from "node:assert/strict";
import type { SessionId } from "../../contract/ids.ts";
import { defaultMaxSandboxes, SandboxCap } from "./sandbox_cap.ts";

const id = (s: string) => s as SessionId;

Deno.test("sandbox cap: at the cap the least recently used idle sandbox is stopped; busy ones never", async () => {
  const cap = new SandboxCap(2);
  const live = new Set([id("a"), id("b")]);
  cap.touch(id("a"));
  cap.touch(id("b"));
  const busy = new Set([id("a")]);
  const evicted: SessionId[] = [];
  const options = {
    live: () => [...live],
    busy: (s: SessionId) => Promise.resolve(busy.has(s)),
    evict: (s: SessionId) => {
      evicted.push(s);
      live.delete(s);
      return Promise.resolve();
    },
  };
  // a is older but busy: b goes.
  assert.deepEqual(await cap.admit(id("c"), options), [id("b")]);
  live.add(id("c"));
  cap.started(id("c"));
  // Under the cap nothing is stopped; a relaunch of a live session needs no room for itself.
  assert.deepEqual(await cap.admit(id("c"), options), []);
  cap.started(id("c"));
  // Every live one busy: none is stopped (the start goes over the cap).
  busy.add(id("c"));
  assert.deepEqual(await cap.admit(id("d"), options), []);
  cap.started(id("d"));
  assert.deepEqual(evicted, [id("b")]);
});

Deno.test("sandbox cap: admitted starts count until started, so concurrent launches cannot both pass", async () => {
  const cap = new SandboxCap(1);
  const live: SessionId[] = [];
  const evicted: SessionId[] = [];
  const options = {
    live: () => live,
    busy: () => Promise.resolve(false),
    evict: (s: SessionId) => Promise.resolve(void evicted.push(s)),
  };
  await Promise.all([cap.admit(id("a"), options), cap.admit(id("b"), options)]);
  // b found a starting and nothing live to stop: it goes over the cap rather than wait (logged by the manager).
  assert.deepEqual(evicted, []);
  cap.started(id("a"));
  cap.started(id("b"));
  live.push(id("a"), id("b"));
  cap.touch(id("b"));
  assert.deepEqual(await cap.admit(id("c"), options), [id("a"), id("b")]);
});

Deno.test("sandbox cap: the default is half the memory at 256 MiB a sandbox, at least 2; a cap is 1 or more", () => {
  assert.equal(defaultMaxSandboxes(24 * 1024 ** 3), 48);
  assert.equal(defaultMaxSandboxes(256 * 1024 ** 2), 2);
  assert.throws(() => new SandboxCap(0), RangeError);
});
