import assert from "node:assert/strict";
import { Pacer } from "./pacer.ts";

Deno.test("the pacer runs a pass when kicked and never two at once", async () => {
  let running = 0;
  let most = 0;
  let passes = 0;
  const waiters: (() => void)[] = [];
  const pacer = new Pacer({
    fallbackMs: 3_600_000,
    onError: (err) => {
      throw err;
    },
    run: async () => {
      running++;
      most = Math.max(most, running);
      await Promise.resolve();
      running--;
      passes++;
      waiters.splice(0).forEach((w) => w());
    },
  });
  const next = () => new Promise<void>((resolve) => waiters.push(resolve));
  const started = next();
  pacer.start();
  await started;
  const kicked = next();
  pacer.kick();
  pacer.kick();
  await kicked;
  await Promise.all([pacer.runOnce(), pacer.runOnce()]);
  await pacer.stop();
  assert.equal(most, 1);
  assert.ok(passes >= 4, `passes: ${passes}`);
});
