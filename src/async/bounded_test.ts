import assert from "node:assert/strict";
import { eachBounded } from "./bounded.ts";

Deno.test("eachBounded runs every item, never more than the limit at once, and a failure frees its place", async () => {
  let running = 0;
  let most = 0;
  const done: number[] = [];
  await eachBounded([1, 2, 3, 4, 5, 6, 7], async (n) => {
    running++;
    most = Math.max(most, running);
    await new Promise((resolve) => setTimeout(resolve, 5));
    running--;
    if (n === 3) throw new Error("a stop failed");
    done.push(n);
  }, { limit: 3 });
  assert.equal(most, 3);
  assert.deepEqual(done.sort(), [1, 2, 4, 5, 6, 7]);
});

Deno.test("eachBounded: a hung item holds its place only for the patience, and is reported", async () => {
  const overdue: string[] = [];
  const done: string[] = [];
  const never = new Promise<void>(() => {});
  await eachBounded(["hung", "a", "b"], (item) => {
    if (item === "hung") return never;
    done.push(item);
    return Promise.resolve();
  }, { limit: 1, patienceMs: 20, onOverdue: (item) => overdue.push(item) });
  assert.deepEqual(overdue, ["hung"]);
  assert.deepEqual(done, ["a", "b"], "the others ran after it, with one place only");
});
