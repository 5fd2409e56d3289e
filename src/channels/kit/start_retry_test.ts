import assert from "node:assert/strict";
import { retryUntilStarted } from "./start_retry.ts";

Deno.test("start retry: a failure is logged and tried again; a stop ends it quietly, its wait cut short", async () => {
  const failures: unknown[] = [];
  let tries = 0;
  const started = await retryUntilStarted(() => {
    tries++;
    return tries === 1 ? Promise.reject(new Error("down")) : Promise.resolve("up");
  }, { running: () => true, onFailure: (err) => failures.push(err) });
  assert.equal(started, "up");
  assert.equal(tries, 2);
  assert.equal(failures.length, 1);

  let running = true;
  const stop = new AbortController();
  const stopped = retryUntilStarted(() => Promise.reject(new Error("down")), {
    running: () => running,
    onFailure: () => {
      // Stopping during the first wait: no second try, no second log.
      running = false;
      stop.abort();
    },
    signal: stop.signal,
  });
  assert.equal(await stopped, undefined);
});
