import assert from "node:assert/strict";
import { MODEL_CALL_DURATION_BUCKETS, ModelCallMetrics } from "./metrics.ts";

Deno.test("the histogram is cumulative and errors are counted apart", () => {
  const metrics = new ModelCallMetrics();
  metrics.observe(0.001, false);
  metrics.observe(0.005, true);
  metrics.observe(0.3, false);
  metrics.observe(42, true);
  const snap = metrics.snapshot();
  assert.equal(snap.calls, 4);
  assert.equal(snap.errors, 2);
  assert.equal(snap.duration.count, 4);
  assert.ok(Math.abs(snap.duration.sum - 42.306) < 1e-9);
  assert.equal(snap.duration.counts.length, MODEL_CALL_DURATION_BUCKETS.length);
  // le 0.005 holds the first two; le 0.5 onwards adds 0.3; 42 s is only in +Inf.
  assert.deepEqual(snap.duration.counts, [2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3]);
});
