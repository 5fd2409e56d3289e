import assert from "node:assert/strict";
import { TokenBucket } from "./token_bucket.ts";

Deno.test("a full bucket allows a burst, then refuses until refilled", () => {
  let now = 0;
  const bucket = new TokenBucket({ perSecond: 2, burst: 3 }, () => now);
  assert.deepEqual([bucket.take(), bucket.take(), bucket.take(), bucket.take()], [true, true, true, false]);
  now = 499;
  assert.equal(bucket.take(), false, "just under half a second refills less than one token");
  now = 500;
  assert.equal(bucket.take(), true);
  assert.equal(bucket.take(), false);
});

Deno.test("refill never exceeds the burst", () => {
  let now = 0;
  const bucket = new TokenBucket({ perSecond: 10, burst: 2 }, () => now);
  now = 60_000;
  assert.deepEqual([bucket.take(), bucket.take(), bucket.take()], [true, true, false]);
});
