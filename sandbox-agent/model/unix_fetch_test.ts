import assert from "node:assert/strict";
import { tempDir } from "../testing.ts";
import { unixSocketFetch } from "./unix_fetch.ts";

async function withServer(
  handler: Deno.ServeHandler<Deno.UnixAddr>,
  fn: (fetch: typeof globalThis.fetch) => Promise<void>,
): Promise<void> {
  using dir = tempDir();
  const path = `${dir.path}/s.sock`;
  const listening = Promise.withResolvers<void>();
  const server = Deno.serve({ path, onListen: () => listening.resolve() }, handler);
  await listening.promise;
  try {
    await fn(unixSocketFetch(path));
  } finally {
    await server.shutdown();
  }
}

/** A raw server that answers each connection with fixed bytes and then closes it. */
async function withRawServer(
  answer: string,
  fn: (fetch: typeof globalThis.fetch) => Promise<void>,
): Promise<void> {
  using dir = tempDir();
  const path = `${dir.path}/raw.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  const served = (async () => {
    for await (const conn of listener) {
      await conn.read(new Uint8Array(64 * 1024));
      await conn.write(new TextEncoder().encode(answer));
      conn.close();
    }
  })();
  try {
    await fn(unixSocketFetch(path));
  } finally {
    listener.close();
    await served;
  }
}

Deno.test("sends method, path, query, Host and body; reads a sized response", async () => {
  await withServer(async (req) => {
    const url = new URL(req.url);
    return Response.json({
      method: req.method,
      host: req.headers.get("host"),
      path: url.pathname + url.search,
      body: await req.text(),
      custom: req.headers.get("x-custom"),
    }, { status: 201, headers: { "x-reply": "yes" } });
  }, async (fetch) => {
    const res = await fetch("http://api.example.test/v1/messages?beta=true", {
      method: "POST",
      headers: { "x-custom": "1", host: "evil.test" },
      body: "héllo",
    });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get("x-reply"), "yes");
    assert.deepEqual(await res.json(), {
      method: "POST",
      host: "api.example.test",
      path: "/v1/messages?beta=true",
      body: "héllo",
      custom: "1",
    });
  });
});

Deno.test("decodes a chunked streaming body", async () => {
  await withServer(() => {
    const parts = ["data: one\n\n", "data: two\n\n", "data: three\n\n"];
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        const next = parts.shift();
        if (next === undefined) c.close();
        else c.enqueue(new TextEncoder().encode(next));
      },
    });
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  }, async (fetch) => {
    const res = await fetch("http://h/stream");
    assert.equal(await res.text(), "data: one\n\ndata: two\n\ndata: three\n\n");
  });
});

Deno.test("a body framed by end of stream, after an interim 100 response", async () => {
  await withRawServer(
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nX-A: 1\r\n\r\nuntil the end",
    async (fetch) => {
      const res = await fetch("http://h/");
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("x-a"), "1");
      assert.equal(await res.text(), "until the end");
    },
  );
});

Deno.test("a truncated sized body is an error", async () => {
  await withRawServer("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort", async (fetch) => {
    const res = await fetch("http://h/");
    await assert.rejects(res.text(), /closed before the body ended/);
  });
});

Deno.test("something that is not HTTP is an error", async () => {
  await withRawServer("SSH-2.0-nope\r\n\r\n", async (fetch) => {
    await assert.rejects(fetch("http://h/"), /not HTTP/);
  });
});

Deno.test("refuses https (the proxy adds TLS) and a missing socket", async () => {
  using dir = tempDir();
  const fetch = unixSocketFetch(`${dir.path}/absent.sock`);
  await assert.rejects(fetch("https://h/"), /plain http only/);
  await assert.rejects(fetch("http://h/"), Deno.errors.NotFound);
});

Deno.test("an abort signal cancels a request in flight", async () => {
  const controller = new AbortController();
  const started = Promise.withResolvers<void>();
  const release = Promise.withResolvers<void>();
  await withServer(async () => {
    started.resolve();
    await release.promise;
    return new Response("late");
  }, async (fetch) => {
    const pending = fetch("http://h/slow", { signal: controller.signal });
    await started.promise;
    controller.abort(new Error("stop"));
    await assert.rejects(pending, /stop/);
    release.resolve();
  });
});
