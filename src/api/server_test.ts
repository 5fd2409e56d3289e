import assert from "node:assert/strict";
import { ControlPlane } from "../control_plane/mod.ts";
import { deadline, LIBRARY, tempDir } from "../../tests/support/mod.ts";
import { TEST_TOKEN } from "../../tests/support/api.ts";
import { DEFAULT_API_ADDR, parseApiAddr, startApiServer } from "./mod.ts";

Deno.test("parseApiAddr splits host:port and names what is wrong", () => {
  assert.deepEqual(parseApiAddr(DEFAULT_API_ADDR), { hostname: "127.0.0.1", port: 8787 });
  assert.deepEqual(parseApiAddr("100.64.1.2:9000"), { hostname: "100.64.1.2", port: 9000 });
  assert.deepEqual(parseApiAddr("[::1]:8787"), { hostname: "::1", port: 8787 });
  assert.deepEqual(parseApiAddr("localhost:0"), { hostname: "localhost", port: 0 });
  for (
    const [bad, why] of [
      ["8787", /expected host:port/],
      [":8787", /expected host:port/],
      ["127.0.0.1", /expected host:port/],
      ["127.0.0.1:", /expected host:port/],
      ["127.0.0.1:http", /expected host:port/],
      ["127.0.0.1:70000", /port 70000 is over 65535/],
      ["::1:8787", /expected host:port/],
      ["http://127.0.0.1:8787", /expected host:port/],
      ["", /expected host:port/],
    ] as const
  ) {
    assert.throws(() => parseApiAddr(bad), why, bad);
  }
});

Deno.test("startApiServer serves on a free port over real HTTP and shuts down", async () => {
  using dir = tempDir();
  const plane = await ControlPlane.open({ stateDir: dir.path, dev: true, library: LIBRARY });
  try {
    const server = startApiServer(plane, { hostname: "127.0.0.1", port: 0, token: TEST_TOKEN });
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(server.url, "http://127.0.0.1:0");
    const health = await fetch(`${server.url}/healthz`);
    assert.deepEqual(await health.json(), { status: "ok", version: "0.1.0" });
    const denied = await fetch(`${server.url}/v1/changes/pending`);
    assert.equal(denied.status, 401);
    await denied.body?.cancel();
    const pending = await fetch(`${server.url}/v1/changes/pending`, {
      headers: { authorization: `Bearer ${TEST_TOKEN}` },
    });
    assert.deepEqual(await pending.json(), []);
    await server.shutdown();
    await server.finished;
    await assert.rejects(fetch(`${server.url}/healthz`));
  } finally {
    await plane.close();
  }
});

Deno.test("aborting the signal stops the server", async () => {
  using dir = tempDir();
  const plane = await ControlPlane.open({ stateDir: dir.path, library: LIBRARY });
  try {
    const abort = new AbortController();
    const server = startApiServer(plane, {
      hostname: "127.0.0.1",
      port: 0,
      token: TEST_TOKEN,
      signal: abort.signal,
    });
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200, "it serves before the abort");
    await health.body?.cancel();
    abort.abort();
    await deadline(server.finished, { what: "the server closing after its signal was aborted" });
    await assert.rejects(fetch(`${server.url}/healthz`));
  } finally {
    await plane.close();
  }
});
