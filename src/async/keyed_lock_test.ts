import assert from "node:assert/strict";
import { KeyedLock } from "./keyed_lock.ts";

Deno.test("KeyedLock.settled waits for every key's work, a failure included, and for work queued meanwhile", async () => {
  const lock = new KeyedLock<string>();
  const done: string[] = [];
  const first = Promise.withResolvers<void>();
  lock.run("a", async () => {
    await first.promise;
    done.push("a1");
    // Queued behind a1 while settled() already waits: it is waited for too.
    lock.run("a", () => {
      done.push("a2");
      return Promise.resolve();
    });
  });
  lock.run("b", () => Promise.reject(new Error("b failed"))).catch(() => {});
  let settled = false;
  const waiting = lock.settled().then(() => settled = true);
  await Promise.resolve();
  assert.equal(settled, false, "a1 is still running");
  first.resolve();
  await waiting;
  assert.deepEqual(done, ["a1", "a2"]);
  assert.equal(lock.busy("a") || lock.busy("b"), false);
  await lock.settled(); // nothing under way: at once
});
