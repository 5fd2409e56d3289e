import assert from "node:assert/strict";
import { nextRun, normalizeRfc3339, recurrenceMs, Timestamp } from "./time.ts";

Deno.test("RFC 3339 input is normalised to UTC milliseconds", () => {
  assert.equal(normalizeRfc3339("2026-06-16T09:00:00Z"), "2026-06-16T09:00:00.000Z");
  assert.equal(normalizeRfc3339("2026-06-16T11:00:00+02:00"), "2026-06-16T09:00:00.000Z");
  assert.equal(normalizeRfc3339("2026-06-16T09:00:00.123456789Z"), "2026-06-16T09:00:00.123Z");
  for (const bad of ["tomorrow", "2026-06-16", "2026-13-01T00:00:00Z", "2026-06-16 09:00:00Z", ""]) {
    assert.equal(normalizeRfc3339(bad), undefined, bad);
  }
});

Deno.test("stored timestamps sort as strings in time order", () => {
  const a = new Date(Date.UTC(2026, 0, 1, 0, 0, 0, 0)).toISOString();
  const b = new Date(Date.UTC(2026, 0, 1, 0, 0, 0, 100)).toISOString();
  assert.ok(a < b);
  assert.ok(Timestamp.safeParse(a).success);
});

Deno.test("recurrences", () => {
  assert.equal(recurrenceMs("hourly"), 3_600_000);
  assert.equal(recurrenceMs("15m"), 900_000);
  assert.equal(recurrenceMs("1h30m"), 5_400_000);
  for (const bad of ["", "0m", "-5m", "soon", "5"]) assert.equal(recurrenceMs(bad), undefined, bad);
  assert.equal(nextRun("2026-06-16T09:00:00.000Z", "daily"), "2026-06-17T09:00:00.000Z");
  assert.equal(nextRun("2026-06-16T09:00:00.000Z", ""), undefined);
});
