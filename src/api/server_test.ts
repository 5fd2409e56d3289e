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

/** One raw HTTP/1.1 exchange: the status line of the answer. */
async function rawStatus(url: string, request: string): Promise<string> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    await conn.write(new TextEncoder().encode(request));
    const chunks: Uint8Array[] = [];
    for await (const chunk of conn.readable) chunks.push(chunk);
    return new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c]))).split("\r\n")[0];
  } catch (err) {
    conn.close();
    throw err;
  }
}

Deno.test("the edge: TRACE/TRACK are 405, a foreign Host is 421, and token-less floods cannot lock the operator out", async () => {
  using dir = tempDir();
  const plane = await ControlPlane.open({ stateDir: dir.path, dev: true, library: LIBRARY });
  try {
    const server = startApiServer(plane, {
      hostname: "127.0.0.1",
      port: 0,
      token: TEST_TOKEN,
      hostNames: ["ironclaw.example"],
      anonymousRateLimit: { ratePerSecond: 1, burst: 3 },
    });
    const ask = (method: string, host: string, path = "/healthz") =>
      rawStatus(server.url, `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    assert.equal(await ask("TRACE", "127.0.0.1"), "HTTP/1.1 405 Method Not Allowed");
    assert.equal(await ask("TRACK", "localhost"), "HTTP/1.1 405 Method Not Allowed");
    assert.equal(await ask("GET", "rebind.attacker.example:8787"), "HTTP/1.1 421 Misdirected Request");
    assert.equal(await ask("GET", "ironclaw.example"), "HTTP/1.1 200 OK");
    // The anonymous bucket (3) is used up; the operator's token still gets through.
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${server.url}/v1/changes/pending`, {
        headers: { authorization: "Bearer wrong" },
      });
      await res.body?.cancel();
    }
    const locked = await fetch(`${server.url}/healthz`);
    await locked.body?.cancel();
    assert.equal(locked.status, 429);
    const operator = await fetch(`${server.url}/v1/changes/pending`, {
      headers: { authorization: `Bearer ${TEST_TOKEN}` },
    });
    assert.equal(operator.status, 200);
    await operator.body?.cancel();
    await server.shutdown();
  } finally {
    await plane.close();
  }
});

/** Reads `conn` until the server closes it; resolves to what it sent (the front closes slow connections). */
async function untilClosed(conn: Deno.TcpConn): Promise<string> {
  const chunks: number[] = [];
  const buf = new Uint8Array(4096);
  while (true) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) break;
    chunks.push(...buf.subarray(0, n));
  }
  conn.close();
  return new TextDecoder().decode(new Uint8Array(chunks));
}

Deno.test("slow headers and slow bodies are cut off, and connections past the cap are refused", async () => {
  using dir = tempDir();
  const plane = await ControlPlane.open({ stateDir: dir.path, dev: true, library: LIBRARY });
  const server = startApiServer(plane, {
    hostname: "127.0.0.1",
    port: 0,
    token: TEST_TOKEN,
    connectionLimits: { maxConnections: 3, headerTimeoutMs: 400, bodyTimeoutMs: 400, idleTimeoutMs: 5_000 },
  });
  try {
    const { port } = new URL(server.url);
    const open = () => Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
    const encode = (text: string) => new TextEncoder().encode(text);

    const slowHead = await open();
    await slowHead.write(encode("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
    const slowBody = await open();
    await slowBody.write(
      encode(
        `POST /v1/changes HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TEST_TOKEN}\r\n` +
          "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
      ),
    );
    const third = await open();
    // The cap (3) is reached: a fourth connection is answered 503 and closed.
    const fourth = await open();
    assert.match(await untilClosed(fourth), /^HTTP\/1\.1 503 Service Unavailable/);
    const started = performance.now();
    const [head, body] = await Promise.all([untilClosed(slowHead), untilClosed(slowBody)]);
    assert.equal(head, "", "the slow head got no answer: it was closed");
    assert.equal(body, "", "the slow body never reached the route");
    assert.ok(performance.now() - started < 4_000, "closed by the head/body deadlines, not the idle limit");
    third.close();
    // A well-behaved client is served once the slow ones are gone.
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
  } finally {
    await server.shutdown();
    await plane.close();
  }
});
