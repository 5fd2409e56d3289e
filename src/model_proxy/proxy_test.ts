/** The proxy against a local fake upstream standing in for real providers. */
import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import type { SessionId } from "../../contract/ids.ts";
import { MOCK_MODEL_HOST } from "../../contract/sockets.ts";
import { tempDir } from "../../tests/support/mod.ts";
import { unixSocketFetch } from "../../tests/support/model_proxy_unix_fetch.ts";
import { type ModelCallRecord, ModelProxy, type ModelProxyOptions } from "./mod.ts";

const ANTHROPIC_SECRET = "sk-ant-host-secret-0123456789";
const OPENAI_SECRET = "sk-openai-host-secret-9876543210";
const SECRETS: Record<string, string> = {
  "api.anthropic.com": ANTHROPIC_SECRET,
  "api.openai.com": OPENAI_SECRET,
};
const SANDBOX_KEY = "sandbox-placeholder";

/** A plain HTTP server on loopback that records what reached it. */
function fakeUpstream(respond: (req: Request) => Response | Promise<Response>) {
  const seen: { path: string; headers: Headers }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    seen.push({ path: new URL(req.url).pathname, headers: req.headers });
    return respond(req);
  });
  return {
    baseUrl: `http://127.0.0.1:${server.addr.port}`,
    seen,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** A proxy in a temporary directory; `session()` opens one and returns a fetch over its socket. */
function startProxy(options: ModelProxyOptions = {}) {
  const dir = tempDir();
  const audit: ModelCallRecord[] = [];
  const proxy = new ModelProxy({
    credentials: (host) => SECRETS[host],
    ...options,
    onAudit: (r) => audit.push(r),
  });
  const clients: Disposable[] = [];
  return {
    proxy,
    audit,
    dir: dir.path,
    async session(id: string) {
      const path = `${dir.path}/${id}/model.sock`;
      await proxy.openSession(id as SessionId, path);
      const unix = unixSocketFetch(path);
      clients.push(unix);
      return unix.fetch;
    },
    async [Symbol.asyncDispose]() {
      for (const client of clients) client[Symbol.dispose]();
      await proxy.close();
      dir[Symbol.dispose]();
    },
  };
}

const anthropicMessage = (text: string) => ({
  id: "msg_1",
  type: "message",
  role: "assistant",
  model: "m",
  content: [{ type: "text", text }],
  stop_reason: "end_turn",
  stop_sequence: null,
  usage: { input_tokens: 1, output_tokens: 1 },
});

const mockRequest = {
  method: "POST",
  body: JSON.stringify({ model: "mock", max_tokens: 8, messages: [{ role: "user", content: "hi" }] }),
};

Deno.test("the sandbox's key is swapped for the host's, and echoed secrets come back redacted", async () => {
  await using upstream = fakeUpstream((req) =>
    new Response(JSON.stringify(anthropicMessage(`you sent ${req.headers.get("x-api-key")}`)), {
      headers: {
        "content-type": "application/json",
        "set-cookie": "session=1",
        "x-api-key": ANTHROPIC_SECRET,
        authorization: `Bearer ${ANTHROPIC_SECRET}`,
      },
    })
  );
  await using fx = startProxy({ upstreams: [{ host: "api.anthropic.com", baseUrl: upstream.baseUrl }] });
  const fetch = await fx.session("ses_a");
  const anthropic = new Anthropic({
    apiKey: SANDBOX_KEY,
    baseURL: "http://api.anthropic.com",
    fetch,
    maxRetries: 0,
  });

  const { data, response } = await anthropic.messages
    .create({ model: "m", max_tokens: 8, messages: [{ role: "user", content: "secret plans" }] })
    .withResponse();
  assert.deepEqual(data.content, [{ type: "text", text: "you sent [REDACTED]" }]);
  for (const name of ["set-cookie", "x-api-key", "authorization"]) {
    assert.equal(response.headers.get(name), null);
  }
  assert.equal(upstream.seen[0].headers.get("x-api-key"), ANTHROPIC_SECRET);

  // Every sandbox credential header is dropped; anthropic-version is supplied when missing.
  const raw = await fetch("http://api.anthropic.com/v1/messages?key=query-secret", {
    method: "POST",
    body: "{}",
    headers: {
      authorization: `Bearer ${SANDBOX_KEY}`,
      "x-api-key": SANDBOX_KEY,
      "x-goog-api-key": SANDBOX_KEY,
      "proxy-authorization": SANDBOX_KEY,
      cookie: SANDBOX_KEY,
    },
  });
  assert.equal(raw.status, 200);
  assert.equal(raw.headers.get("content-length"), String((await raw.arrayBuffer()).byteLength));
  const sent = upstream.seen[1].headers;
  assert.equal(sent.get("x-api-key"), ANTHROPIC_SECRET);
  assert.equal(sent.get("anthropic-version"), "2023-06-01");
  for (const name of ["authorization", "x-goog-api-key", "proxy-authorization", "cookie"]) {
    assert.equal(sent.get(name), null, name);
  }

  assert.equal(fx.audit.length, 2);
  assert.deepEqual(Object.keys(fx.audit[1]).sort(), [
    "allowed",
    "durationMs",
    "host",
    "method",
    "path",
    "rateLimited",
    "requestBytes",
    "responseBytes",
    "session",
    "status",
    "time",
    "unreachable",
  ]);
  assert.deepEqual({ ...fx.audit[1], time: "", durationMs: 0, responseBytes: 0 }, {
    time: "",
    session: "ses_a",
    method: "POST",
    host: "api.anthropic.com",
    path: "/v1/messages",
    status: 200,
    allowed: true,
    rateLimited: false,
    unreachable: false,
    requestBytes: 2,
    responseBytes: 0,
    durationMs: 0,
  });
  const logged = JSON.stringify(fx.audit);
  for (const secret of [ANTHROPIC_SECRET, SANDBOX_KEY, "secret plans", "query-secret"]) {
    assert.ok(!logged.includes(secret), secret);
  }
});

Deno.test("OpenAI gets a bearer token, addressed with an https URL through the socket", async () => {
  await using upstream = fakeUpstream((req) =>
    Response.json({
      id: "c",
      object: "chat.completion",
      created: 0,
      model: "m",
      choices: [{
        index: 0,
        message: { role: "assistant", content: `token ${req.headers.get("authorization")}` },
        finish_reason: "stop",
      }],
    })
  );
  await using fx = startProxy({ upstreams: [{ host: "api.openai.com", baseUrl: upstream.baseUrl }] });
  const openai = new OpenAI({
    apiKey: SANDBOX_KEY,
    baseURL: "https://api.openai.com/v1",
    fetch: await fx.session("ses_a"),
    maxRetries: 0,
  });
  const completion = await openai.chat.completions.create({
    model: "m",
    messages: [{ role: "user", content: "x" }],
  });
  assert.equal(completion.choices[0].message.content, "token Bearer [REDACTED]");
  assert.equal(upstream.seen[0].path, "/v1/chat/completions");
  assert.equal(upstream.seen[0].headers.get("authorization"), `Bearer ${OPENAI_SECRET}`);
});

Deno.test("a host off the allowlist gets 403 and an audit record", async () => {
  await using upstream = fakeUpstream(() => new Response("{}"));
  await using fx = startProxy({ upstreams: [{ host: "api.anthropic.com", baseUrl: upstream.baseUrl }] });
  const fetch = await fx.session("ses_a");
  const anthropic = new Anthropic({
    apiKey: SANDBOX_KEY,
    baseURL: "http://evil.example",
    fetch,
    maxRetries: 0,
  });
  const error = await anthropic.messages
    .create({ model: "m", max_tokens: 8, messages: [{ role: "user", content: "x" }] })
    .catch((e) => e);
  assert.ok(error instanceof Anthropic.PermissionDeniedError);
  assert.match(error.message, /model-proxy: destination not on allowlist/);

  // A provider without a configured credential is not allowed either.
  assert.equal((await fetch("http://openrouter.ai/api/v1/chat/completions", mockRequest)).status, 403);
  // Hosts match case-insensitively, and a bare-host entry matches any port.
  const ported = await fetch("http://API.Anthropic.COM:8443/v1/models");
  assert.equal(ported.status, 200);
  await ported.body?.cancel();

  assert.deepEqual(fx.audit.map((r) => [r.host, r.path, r.status, r.allowed, r.rateLimited]), [
    ["evil.example", "/v1/messages", 403, false, false],
    ["openrouter.ai", "/api/v1/chat/completions", 403, false, false],
    ["api.anthropic.com:8443", "/v1/models", 200, true, false],
  ]);
  assert.deepEqual(upstream.seen.map((s) => s.path), ["/v1/models"]);
  assert.deepEqual(fx.proxy.metrics().calls, 3);
  assert.deepEqual(fx.proxy.metrics().errors, 2);
});

Deno.test("the rate cap is per session: burst 2 allows two, then 429, while another session is unaffected", async () => {
  // A refill of one token per 1000 s cannot land during the test.
  await using fx = startProxy({ rateLimit: { perSecond: 0.001, burst: 2 } });
  const a = await fx.session("ses_a");
  const b = await fx.session("ses_b");
  const url = `http://${MOCK_MODEL_HOST}/v1/messages`;
  const statuses = [];
  for (const fetch of [a, a, a, b]) {
    const response = await fetch(url, mockRequest);
    statuses.push(response.status);
    if (response.status === 429) assert.match(await response.text(), /model-proxy: rate limit exceeded/);
    else await response.arrayBuffer();
  }
  assert.deepEqual(statuses, [200, 200, 429, 200]);
  assert.deepEqual(fx.audit.map((r) => [r.session, r.rateLimited]), [
    ["ses_a", false],
    ["ses_a", false],
    ["ses_a", true],
    ["ses_b", false],
  ]);
});

Deno.test("server-sent events reach the sandbox before the upstream finishes", async () => {
  let gateOpen = false;
  let openGate!: () => void;
  const gate = new Promise<void>((resolve) => openGate = () => (gateOpen = true, resolve()));
  const encoder = new TextEncoder();
  const event = (type: string, data: Record<string, unknown>) =>
    encoder.encode(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  await using upstream = fakeUpstream(() =>
    new Response(
      new ReadableStream({
        async start(controller) {
          const message = { ...anthropicMessage(""), content: [], stop_reason: null };
          controller.enqueue(event("message_start", { message }));
          controller.enqueue(
            event("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
          );
          controller.enqueue(
            event("content_block_delta", { index: 0, delta: { type: "text_delta", text: "first " } }),
          );
          await gate;
          controller.enqueue(
            event("content_block_delta", { index: 0, delta: { type: "text_delta", text: "second" } }),
          );
          controller.enqueue(event("content_block_stop", { index: 0 }));
          controller.enqueue(
            event("message_delta", { delta: { stop_reason: "end_turn" }, usage: { output_tokens: 2 } }),
          );
          controller.enqueue(event("message_stop", {}));
          controller.close();
        },
      }),
      { headers: { "content-type": "text/event-stream" } },
    )
  );
  await using fx = startProxy({ upstreams: [{ host: "api.anthropic.com", baseUrl: upstream.baseUrl }] });
  const anthropic = new Anthropic({
    apiKey: SANDBOX_KEY,
    baseURL: "http://api.anthropic.com",
    fetch: await fx.session("ses_a"),
    maxRetries: 0,
  });
  // Only breaks a deadlock if the proxy buffers; the assertion is about order, not time.
  const breaker = setTimeout(openGate, 10_000);
  let firstBeforeGate: boolean | undefined;
  const stream = anthropic.messages.stream({
    model: "m",
    max_tokens: 8,
    messages: [{ role: "user", content: "x" }],
  });
  stream.on("text", () => {
    firstBeforeGate ??= !gateOpen;
    openGate();
  });
  const message = await stream.finalMessage();
  clearTimeout(breaker);
  assert.equal(
    firstBeforeGate,
    true,
    "the first delta arrived while the upstream was still holding the rest",
  );
  assert.deepEqual(message.content, [{ type: "text", text: "first second" }]);
  assert.equal(fx.audit.length, 1, "audited once the stream ended");
  assert.ok(fx.audit[0].responseBytes > 0);
});

Deno.test("oversized requests get 413 whether declared or streamed, and never reach the upstream", async () => {
  await using upstream = fakeUpstream(() => new Response("{}"));
  await using fx = startProxy({
    upstreams: [{ host: "api.anthropic.com", baseUrl: upstream.baseUrl }],
    limits: { maxRequestBytes: 1024 },
  });
  const fetch = await fx.session("ses_a");
  const url = "http://api.anthropic.com/v1/messages";
  const declared = await fetch(url, { method: "POST", body: "x".repeat(1025) });
  assert.equal(declared.status, 413);
  assert.match(await declared.text(), /model-proxy: request body too large/);
  const chunked = await fetch(url, {
    method: "POST",
    body: ReadableStream.from([new Uint8Array(1000), new Uint8Array(1000)]),
  });
  assert.equal(chunked.status, 413);
  await chunked.body?.cancel();
  const fits = await fetch(url, { method: "POST", body: "x".repeat(1024) });
  assert.equal(fits.status, 200);
  await fits.body?.cancel();
  assert.equal(upstream.seen.length, 1);
});

Deno.test("upstream trouble is a 502: too large, unreadable encoding, unreachable; gzip is decoded and scrubbed", async () => {
  const gzip = (text: string) => new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  await using upstream = fakeUpstream((req) => {
    const path = new URL(req.url).pathname;
    if (path === "/big") return new Response("x".repeat(4097));
    if (path === "/deflate") return new Response("x", { headers: { "content-encoding": "deflate" } });
    return new Response(gzip(`{"leak":"${ANTHROPIC_SECRET}"}`), { headers: { "content-encoding": "gzip" } });
  });
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadPort = closed.addr.port;
  closed.close();
  await using fx = startProxy({
    upstreams: [
      { host: "api.anthropic.com", baseUrl: upstream.baseUrl },
      { host: "local.model", baseUrl: `http://127.0.0.1:${deadPort}` },
    ],
    limits: { maxResponseBytes: 4096 },
  });
  const fetch = await fx.session("ses_a");
  const results = [];
  for (
    const url of ["http://api.anthropic.com/big", "http://api.anthropic.com/deflate", "http://local.model/x"]
  ) {
    const response = await fetch(url);
    results.push([response.status, (await response.json()).error.message]);
  }
  assert.deepEqual(results, [
    [502, "model-proxy: upstream response too large"],
    [502, "model-proxy: upstream content-encoding not supported"],
    [502, "model-proxy: upstream request failed"],
  ]);
  const gzipped = await fetch("http://api.anthropic.com/gzip");
  assert.equal(gzipped.headers.get("content-encoding"), null);
  assert.deepEqual(await gzipped.json(), { leak: "[REDACTED]" });
});

Deno.test("sessions own their sockets: mode set, one listener per session, removed on close", async () => {
  await using fx = startProxy({ socketMode: 0o660 });
  const path = `${fx.dir}/ses_a/model.sock`;
  await fx.session("ses_a");
  assert.equal(Deno.statSync(`${fx.dir}/ses_a`).mode! & 0o777, 0o700);
  assert.equal(Deno.lstatSync(path).mode! & 0o777, 0o660);
  await assert.rejects(fx.proxy.openSession("ses_a" as SessionId, `${fx.dir}/other.sock`), /already open/);

  await fx.proxy.closeSession("ses_a" as SessionId);
  assert.throws(() => Deno.lstatSync(path), Deno.errors.NotFound);
  await assert.rejects(Deno.connect({ transport: "unix", path }));

  // The same session can come back on the same path.
  const again = await fx.session("ses_a");
  const response = await again(`http://${MOCK_MODEL_HOST}/v1/messages`, mockRequest);
  assert.equal(response.status, 200);
  await response.body?.cancel();
});

Deno.test("closing a session cuts its streams short instead of waiting for the upstream", async () => {
  let release!: () => void;
  const held = new Promise<void>((resolve) => release = resolve);
  await using upstream = fakeUpstream(() =>
    new Response(
      new ReadableStream({
        async start(controller) {
          controller.enqueue(new TextEncoder().encode("data: first\n\n"));
          await held;
          controller.close();
        },
      }),
      { headers: { "content-type": "text/event-stream" } },
    )
  );
  await using fx = startProxy({ upstreams: [{ host: "api.openai.com", baseUrl: upstream.baseUrl }] });
  const fetch = await fx.session("ses_a");
  const idle = await fetch(`http://${MOCK_MODEL_HOST}/v1/messages`, mockRequest);
  await idle.arrayBuffer(); // leaves a kept-alive connection open
  const response = await fetch("http://api.openai.com/v1/chat/completions", { method: "POST", body: "{}" });
  const reader = response.body!.getReader();
  assert.equal(new TextDecoder().decode((await reader.read()).value), "data: first\n\n");

  await fx.proxy.closeSession("ses_a" as SessionId);
  await assert.rejects(reader.read());
  assert.deepEqual(fx.audit.map((r) => [r.host, r.status]), [[MOCK_MODEL_HOST, 200], [
    "api.openai.com",
    200,
  ]]);
  release();
});

Deno.test("operator failures: a 401 upstream, a missing key and an unreachable host are named per session, and health shows them", async () => {
  await using upstream = fakeUpstream(() =>
    Response.json(
      { type: "error", error: { type: "authentication_error", message: "invalid x-api-key" } },
      { status: 401 },
    )
  );
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadUrl = `http://127.0.0.1:${closed.addr.port}`;
  closed.close();
  const causes: { session: SessionId; cause: string }[] = [];
  await using fx = startProxy({
    // openai's key is missing; the local upstream's host is unreachable.
    credentials: (host) => host === "api.anthropic.com" ? "sk-wrong" : undefined,
    upstreams: [
      { host: "api.anthropic.com", baseUrl: upstream.baseUrl },
      { host: "llm.local", baseUrl: deadUrl },
    ],
    onOperatorFailure: (session, cause) => causes.push({ session, cause }),
  });
  const fetch = await fx.session("ses_a");
  const client = (baseURL: string) => new Anthropic({ apiKey: SANDBOX_KEY, baseURL, fetch, maxRetries: 0 });
  const ask = (baseURL: string) =>
    client(baseURL).messages.create({ model: "m", max_tokens: 8, messages: [{ role: "user", content: "x" }] })
      .catch((e) => e);

  assert.equal((await ask("http://api.anthropic.com")).status, 401);
  assert.equal((await ask("http://api.openai.com")).status, 403);
  assert.equal((await ask("http://llm.local")).status, 502);
  const mock = await fetch(`http://${MOCK_MODEL_HOST}/v1/messages`, mockRequest);
  assert.equal(mock.status, 200);
  await mock.body?.cancel();

  assert.deepEqual(causes, [
    {
      session: "ses_a",
      cause: "401 from api.anthropic.com — is ANTHROPIC_API_KEY set for the control plane?",
    },
    {
      session: "ses_a",
      cause: "no OPENAI_API_KEY is set for the control plane, so api.openai.com cannot be called",
    },
    { session: "ses_a", cause: "llm.local could not be reached — is the host right and the network up?" },
  ]);
  const health = fx.proxy.health();
  assert.deepEqual(health.map((h) => [h.host, h.failing, h.calls, h.lastError?.status ?? null]), [
    ["api.anthropic.com", true, 1, 401],
    ["api.openai.com", true, 1, 403],
    ["llm.local", true, 1, 502],
    [MOCK_MODEL_HOST, false, 1, null],
  ]);
});
