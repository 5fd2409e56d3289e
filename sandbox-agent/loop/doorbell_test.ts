import assert from "node:assert/strict";
import { DOORBELL } from "../../contract/sockets.ts";
import { jsonLogger } from "../log.ts";
import { deadline, tempDir } from "../testing.ts";
import { Doorbell } from "./doorbell.ts";

Deno.test("the doorbell rings on the host's byte, and reports the host gone when its end closes", async () => {
  using dir = tempDir();
  const path = `${dir.path}/doorbell.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  const lines: string[] = [];
  const { promise: gone, resolve: hostGone } = Promise.withResolvers<void>();
  const bell = new Doorbell(path, jsonLogger((line) => lines.push(line)), { onHostGone: hostGone });
  bell.start();
  const conn = await listener.accept();
  const stop = new AbortController();
  assert.equal(await bell.wait(5_000, stop.signal), true, "a fresh connection assumes a missed bell");
  await conn.write(Uint8Array.of(DOORBELL.inbound));
  assert.equal(await bell.wait(5_000, stop.signal), true);
  conn.close(); // the host process ended
  await gone;
  assert.equal(bell.connected, false);
  assert.ok(lines.some((l) => l.includes("doorbell.host_gone")));
  listener.close();
  await bell.close();
});

Deno.test("without onHostGone a dropped doorbell reconnects", async () => {
  using dir = tempDir();
  const path = `${dir.path}/doorbell.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  const lines: string[] = [];
  const bell = new Doorbell(path, jsonLogger((line) => lines.push(line)), {
    reconnectBaseMs: 5,
    reconnectCapMs: 10,
  });
  const stop = new AbortController();
  try {
    bell.start();
    const first = await deadline(listener.accept(), { what: "the first connection" });
    assert.equal(await bell.wait(5_000, stop.signal), true, "the first connection assumes a missed bell");
    first.close(); // dropped, but the doorbell has no onHostGone: it comes back
    const again = await deadline(listener.accept(), { what: "the reconnection" });
    assert.equal(await bell.wait(5_000, stop.signal), true, "the reconnection assumes a missed bell too");
    assert.equal(bell.connected, true);
    assert.equal(lines.filter((l) => l.includes("doorbell.connected")).length, 2);
    assert.ok(!lines.some((l) => l.includes("doorbell.host_gone")));
    again.close();
  } finally {
    listener.close();
    await bell.close();
  }
});
