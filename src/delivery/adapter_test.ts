import assert from "node:assert/strict";
import { type ChannelAdapter, ChannelAdapters } from "./adapter.ts";

function adapter(name: string, log: string[], fail?: "start" | "stop"): ChannelAdapter {
  return {
    name,
    deliver: () => Promise.resolve(null),
    start: () => {
      log.push(`start ${name}`);
      return fail === "start" ? Promise.reject(new Error(`${name} down`)) : Promise.resolve();
    },
    stop: () => {
      log.push(`stop ${name}`);
      return fail === "stop" ? Promise.reject(new Error(`${name} stuck`)) : Promise.resolve();
    },
  };
}

Deno.test("adapters: start and stop the receiving sides in order; send-only adapters are skipped", async () => {
  const log: string[] = [];
  const sendOnly: ChannelAdapter = { name: "web", deliver: () => Promise.resolve(null) };
  const all = new ChannelAdapters([adapter("b", log), sendOnly, adapter("a", log)]);
  await all.startAll();
  await all.stopAll();
  assert.deepEqual(log, ["start a", "start b", "stop b", "stop a"]);
});

Deno.test("adapters: a failed start stops the ones started; a failed stop still stops the rest", async () => {
  const log: string[] = [];
  await assert.rejects(
    new ChannelAdapters([adapter("a", log), adapter("b", log, "start")]).startAll(),
    /b down/,
  );
  assert.deepEqual(log, ["start a", "start b", "stop a"]);
  log.length = 0;
  await assert.rejects(
    new ChannelAdapters([adapter("a", log), adapter("b", log, "stop")]).stopAll(),
    /b stuck/,
  );
  assert.deepEqual(log, ["stop b", "stop a"]);
});
