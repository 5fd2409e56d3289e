import assert from "node:assert/strict";
import { backoffDelay, ModelBreaker } from "./backoff.ts";

Deno.test("backoff grows exponentially to the cap, with equal jitter", () => {
  const low = () => 0;
  const high = () => 1;
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n, 2000, 60_000, high)), [
    2000,
    4000,
    8000,
    16000,
    32000,
    60000,
    60000,
  ]);
  assert.deepEqual([1, 2, 6].map((n) => backoffDelay(n, 2000, 60_000, low)), [1000, 2000, 30000]);
  for (let i = 0; i < 100; i++) {
    const d = backoffDelay(3, 2000, 60_000);
    assert.ok(d >= 4000 && d <= 8000, `${d}`);
  }
});

Deno.test("the breaker opens at the threshold, retries at the cap, and resets on success", () => {
  const breaker = new ModelBreaker({ baseMs: 10, capMs: 1000, threshold: 3, random: () => 1 });
  assert.deepEqual(breaker.failure(), { delayMs: 10, opened: false });
  assert.deepEqual(breaker.failure(), { delayMs: 20, opened: false });
  assert.equal(breaker.open, false);
  assert.deepEqual(breaker.failure(), { delayMs: 1000, opened: true });
  assert.equal(breaker.open, true);
  assert.deepEqual(breaker.failure(), { delayMs: 1000, opened: false });
  assert.equal(breaker.success(), true);
  assert.equal(breaker.failures, 0);
  assert.equal(breaker.success(), false);
  assert.deepEqual(breaker.failure(), { delayMs: 10, opened: false });
});
