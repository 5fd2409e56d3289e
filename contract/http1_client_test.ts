import assert from "node:assert/strict";
import { deadline } from "../tests/support/mod.ts";
import { Http1Client } from "./http1_client.ts";

/** What a {@link rawServer} connection does with each request it reads. */
type Behaviour = (request: { head: string; body: string; connection: number; index: number }) =>
  | "answer"
  | "answer-then-close"
  | "close-after-reading"
  | "close-unread";

const enc = new TextEncoder();
const closeQuietly = (conn: Deno.Conn) => {
  try {
    conn.close();
  } catch { /* closed already */ }
};
const dec = new TextDecoder();

/**
 * A hand-written HTTP/1.1 keep-alive server on a unix socket, so a test can
 * say exactly when a connection closes and whether the request was read.
 */
function rawServer(behaviour: Behaviour) {
  const path = `${Deno.makeTempDirSync({ prefix: "http1-client-test-" })}/s.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  const seen: { connection: number; method: string; body: string }[] = [];
  let connections = 0;
  const conns = new Set<Deno.Conn>();
  const tasks: Promise<void>[] = [];
  const serve = async (conn: Deno.Conn, connection: number) => {
    let buffered = "";
    const buf = new Uint8Array(64 * 1024);
    for (let index = 0;; index++) {
      // "close-unread" looks at the first bytes' arrival only: it never takes the request off the socket.
      if (behaviour({ head: "", body: "", connection, index }) === "close-unread" && index > 0) {
        await new Promise((r) => setTimeout(r, 50));
        return closeQuietly(conn);
      }
      while (!buffered.includes("\r\n\r\n")) {
        const n = await conn.read(buf).catch(() => null);
        if (n === null) return closeQuietly(conn);
        buffered += dec.decode(buf.subarray(0, n));
      }
      const end = buffered.indexOf("\r\n\r\n");
      const head = buffered.slice(0, end);
      const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
      while (buffered.length < end + 4 + length) {
        const n = await conn.read(buf).catch(() => null);
        if (n === null) return closeQuietly(conn);
        buffered += dec.decode(buf.subarray(0, n));
      }
      const body = buffered.slice(end + 4, end + 4 + length);
      buffered = buffered.slice(end + 4 + length);
      seen.push({ connection, method: head.split(" ")[0], body });
      const what = behaviour({ head, body, connection, index });
      if (what === "close-after-reading") return closeQuietly(conn);
      // A body asking for "big" gets an answer larger than one read.
      const answer = body === "big" ? "x".repeat(200_000) : `on ${connection}`;
      await conn.write(enc.encode(`HTTP/1.1 200 OK\r\ncontent-length: ${answer.length}\r\n\r\n${answer}`));
      if (what === "answer-then-close") return closeQuietly(conn);
    }
  };
  const accepting = (async () => {
    for await (const conn of listener) {
      conns.add(conn);
      tasks.push(
        serve(conn, ++connections).catch(() => closeQuietly(conn)).finally(() => conns.delete(conn)),
      );
    }
  })();
  const client = new Http1Client({
    connect: () => Deno.connect({ transport: "unix", path }),
    target: "absolute",
    idleMs: 200,
  });
  return {
    client,
    seen,
    connections: () => connections,
    async [Symbol.asyncDispose]() {
      client.close();
      listener.close();
      for (const conn of conns) closeQuietly(conn);
      await accepting;
      await Promise.all(tasks);
      Deno.removeSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    },
  };
}

const post = (body: string) => new Request("http://h/x", { method: "POST", body });
const get = () => new Request("http://h/x");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("a connection is kept for the next request, one request at a time on it", async () => {
  await using server = rawServer(() => "answer");
  const first = await server.client.fetch(post("big"));
  // Asked while the first answer is still being read: its connection is busy, so a second one opens.
  const second = await server.client.fetch(post("two"));
  assert.equal((await first.text()).length, 200_000);
  assert.equal(await second.text(), "on 2");
  assert.equal(await (await server.client.fetch(post("three"))).text(), "on 1");
  assert.equal(await (await server.client.fetch(post("four"))).text(), "on 1");
  assert.equal(server.connections(), 2);
});

Deno.test("a kept connection the server closed is replaced: the request goes once, on a new one", async () => {
  await using server = rawServer(() => "answer-then-close");
  assert.equal(await (await server.client.fetch(post("one"))).text(), "on 1");
  await sleep(20);
  assert.equal(await (await server.client.fetch(post("two"))).text(), "on 2");
  assert.deepEqual(server.seen.map((s) => s.body), ["one", "two"]);
});

Deno.test("a request the server dropped unread is sent again on a new connection", async () => {
  await using server = rawServer(({ connection }) => connection === 1 ? "close-unread" : "answer");
  assert.equal(await (await server.client.fetch(post("one"))).text(), "on 1");
  assert.equal(await (await server.client.fetch(post("model call"))).text(), "on 2");
  assert.deepEqual(server.seen, [
    { connection: 1, method: "POST", body: "one" },
    { connection: 2, method: "POST", body: "model call" },
  ]);
});

Deno.test("a POST the server read before closing is never sent again; a GET is", async () => {
  await using server = rawServer(({ index }) => index === 1 ? "close-after-reading" : "answer");
  assert.equal(await (await server.client.fetch(post("one"))).text(), "on 1");
  await assert.rejects(server.client.fetch(post("model call")), /closed mid-response/);
  assert.equal(await (await server.client.fetch(post("again"))).text(), "on 2");
  assert.equal(await (await server.client.fetch(get())).text(), "on 3");
  assert.deepEqual(server.seen.map((s) => `${s.connection} ${s.method} ${s.body}`), [
    "1 POST one",
    "1 POST model call",
    "2 POST again",
    "2 GET ",
    "3 GET ",
  ]);
});

Deno.test("an unused connection is closed after the idle time", async () => {
  await using server = rawServer(() => "answer");
  assert.equal(await (await server.client.fetch(post("one"))).text(), "on 1");
  await sleep(300);
  assert.equal(await (await server.client.fetch(post("two"))).text(), "on 2");
});

Deno.test("a body not read to its end closes its connection instead of keeping it", async () => {
  await using server = rawServer(() => "answer");
  const first = await server.client.fetch(post("big"));
  await first.body!.cancel();
  assert.equal(await (await server.client.fetch(post("two"))).text(), "on 2");
});

Deno.test("onSent is called once the request is written, before its answer; a resend does not call it again", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "http1-client-test-" });
  const answer = Promise.withResolvers<void>();
  const listening = Promise.withResolvers<void>();
  const server = Deno.serve({ path: `${dir}/s.sock`, onListen: () => listening.resolve() }, async (req) => {
    await req.text();
    // The answer waits until the client said its request was sent.
    await answer.promise;
    return new Response("answered");
  });
  await listening.promise;
  using client = new Http1Client({
    connect: () => Deno.connect({ transport: "unix", path: `${dir}/s.sock` }),
    target: "absolute",
  });
  try {
    const sent = Promise.withResolvers<void>();
    let calls = 0;
    const response = client.fetch(post("model call"), {
      onSent: () => {
        calls++;
        sent.resolve();
      },
    });
    await deadline(
      Promise.race([sent.promise, response.then(() => assert.fail("answered before onSent"))]),
      { what: "onSent", ms: 5000 },
    );
    answer.resolve();
    assert.equal(await (await response).text(), "answered");
    assert.equal(calls, 1);
  } finally {
    // A failed assertion above must not leave the server waiting on its answer (shutdown waits for it).
    answer.resolve();
    await server.shutdown();
    Deno.removeSync(dir, { recursive: true });
  }

  await using dropping = rawServer(({ connection }) => connection === 1 ? "close-unread" : "answer");
  assert.equal(await (await dropping.client.fetch(post("one"))).text(), "on 1");
  let resent = 0;
  const reply = await dropping.client.fetch(post("two"), { onSent: () => resent++ });
  assert.equal(await reply.text(), "on 2", "sent again on a new connection");
  assert.equal(resent, 1);
});
