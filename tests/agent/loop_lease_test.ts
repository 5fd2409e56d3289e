/**
 * What each of the loop's lease turns tells the host at its release
 * (`ReleaseNote`): the outbound ring rides on the turn that wrote the rows,
 * and the loop says it waits for the bell only when no model or tool call
 * comes before its next poll (the host must never grant the lease with its
 * bell to an agent busy elsewhere).
 */
import assert from "node:assert/strict";
import type { QueueLease, ReleaseNote } from "../../sandbox-agent/loop/mod.ts";
import { LoopHarness } from "../support/agent_loop_harness.ts";

/** A lease that runs each turn at once and records its release note. */
function recordingLease(): QueueLease & { notes: ReleaseNote[] } {
  const notes: ReleaseNote[] = [];
  return {
    notes,
    held: true,
    async run<T>(fn: () => T | Promise<T>, note?: (result: T) => ReleaseNote): Promise<T> {
      const result = await fn();
      notes.push(note?.(result) ?? {});
      return result;
    },
  };
}

Deno.test("the loop waits for the bell only after its last turn before idling; the turn that wrote rows rings", async () => {
  const lease = recordingLease();
  await using h = await LoopHarness.start({ lease });
  const loop = h.loop();
  assert.equal(await loop.poll(), "idle");
  assert.deepEqual(
    lease.notes.splice(0),
    [{ outbound: false, idle: true }],
    "nothing to do: wait for the bell",
  );

  h.write({ id: "m1", content: "hello" });
  assert.equal(await loop.poll(), "engaged");
  assert.deepEqual(lease.notes.splice(0), [
    { outbound: false, idle: false }, // the engagement opens: a model call follows
    { outbound: true, idle: true }, // the reply: its release is the ring
  ]);

  h.write({ id: "m2", content: "not for now", trigger: 0 });
  assert.equal(await loop.poll(), "accumulating");
  assert.deepEqual(lease.notes.splice(0), [{ outbound: false, idle: true }]);

  h.write({ id: "c1", content: "/help" });
  assert.equal(await loop.poll(), "engaged");
  assert.deepEqual(lease.notes.splice(0), [
    { outbound: true, idle: false },
    { outbound: true, idle: true },
  ], "/help's answer rings at once, before the buffered message's model call");

  h.write({ id: "c2", content: "/help" });
  assert.equal(await loop.poll(), "engaged");
  assert.deepEqual(
    lease.notes.splice(0),
    [{ outbound: true, idle: true }],
    "commands alone: one turn, then idle",
  );
  assert.equal(h.outbound().filter((o) => o.kind === "chat").length, 4);
});
