import assert from "node:assert/strict";
import { StartSlots } from "./start_slots.ts";

Deno.test("start slots: `size` at once, the next in arrival order as slots come back, a release counts once", async () => {
  const slots = new StartSlots(2);
  const first = await slots.acquire();
  const second = await slots.acquire();
  const order: string[] = [];
  const third = slots.acquire().then((release) => (order.push("third"), release));
  const fourth = slots.acquire().then((release) => (order.push("fourth"), release));
  await Promise.resolve();
  assert.deepEqual(order, []);
  assert.equal(slots.waiting, 2);
  first();
  first();
  const releaseThird = await third;
  await Promise.resolve();
  assert.deepEqual(order, ["third"], "the second release of the same slot gave nothing");
  second();
  (await fourth)();
  releaseThird();
  assert.equal(slots.waiting, 0);
  // All four back: two at once again.
  await slots.acquire();
  await slots.acquire();
});

Deno.test("start slots: at least one; Infinity never waits", async () => {
  const one = new StartSlots(0);
  const release = await one.acquire();
  let second = false;
  const waiting = one.acquire().then(() => second = true);
  await Promise.resolve();
  assert.equal(second, false);
  release();
  await waiting;
  const unlimited = new StartSlots(Infinity);
  for (let i = 0; i < 100; i++) await unlimited.acquire();
});
