import assert from "node:assert/strict";
import { readCapped } from "./body.ts";

/** A stream of `chunks` that records whether it was cancelled. */
function source(chunks: string[]): { body: ReadableStream<Uint8Array>; cancelled: () => boolean } {
  let cancelled = false;
  const encoder = new TextEncoder();
  let next = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (next < chunks.length) controller.enqueue(encoder.encode(chunks[next++]));
      else controller.close();
    },
    cancel() {
      cancelled = true;
    },
  });
  return { body, cancelled: () => cancelled };
}

Deno.test("readCapped joins every chunk up to the limit, and an empty body", async () => {
  const { body, cancelled } = source(["ab", "cde", "f"]);
  assert.equal(new TextDecoder().decode(await readCapped(body, 6)), "abcdef");
  assert.equal(cancelled(), false);
  assert.deepEqual(await readCapped(null, 0), new Uint8Array());
});

Deno.test("readCapped stops at the first byte over the limit and cancels the rest", async () => {
  const { body, cancelled } = source(["ab", "cde", "f", "never read"]);
  assert.equal(await readCapped(body, 5), undefined);
  assert.ok(cancelled(), "the stream is cancelled");
});

Deno.test("readCapped passes a failing stream's error on", async () => {
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.error(new Error("reset"));
    },
  });
  await assert.rejects(readCapped(body, 10), /reset/);
});
