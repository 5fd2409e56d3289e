import assert from "node:assert/strict";
import type { SessionId } from "../../contract/ids.ts";
import { EGRESS_FETCH_PATH, EGRESS_SEARCH_PATH, type FetchResult } from "../../contract/egress.ts";
import { unixSocketFetch } from "../../tests/support/model_proxy_unix_fetch.ts";
import { EgressBroker, type EgressBrokerOptions, type EgressRecord, type Resolver } from "./mod.ts";

const SESSION = "s1" as SessionId;
const PAGE = `<html><head><title>Field notes</title><script>steal()</script></head><body>
<nav>Home | About</nav><article><h1>On egress</h1><p>${
  "Readable words about brokers and sockets. ".repeat(20)
}</p>
<p>A <a href="/more">link</a>.</p></article></body></html>`;

/** A local upstream that records what it saw; `/echo` answers with the request headers. */
async function withUpstream(fn: (origin: URL, seen: Request[]) => Promise<void>): Promise<void> {
  const seen: Request[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    seen.push(req);
    const url = new URL(req.url);
    if (url.pathname === "/page") {
      return new Response(PAGE, { headers: { "content-type": "text/html; charset=utf-8" } });
    }
    if (url.pathname === "/echo") return Response.json(Object.fromEntries(req.headers));
    if (url.pathname === "/big") return new Response("x".repeat(3000));
    if (url.pathname === "/loop") return Response.redirect(new URL("/loop", url), 302);
    if (url.pathname === "/to-metadata") {
      return Response.redirect("http://169.254.169.254/latest/meta-data/", 302);
    }
    if (url.pathname === "/to-other") return Response.redirect(`http://localhost:${url.port}/page`, 302);
    return new Response("plain", { headers: { "content-type": "text/plain" } });
  });
  try {
    await fn(new URL(`http://127.0.0.1:${server.addr.port}`), seen);
  } finally {
    await server.shutdown();
  }
}

async function withBroker(
  options: Partial<EgressBrokerOptions> & { approved?: Set<string> },
  fn: (
    call: (
      path: string,
      body: unknown,
    ) => Promise<{ status: number; json: FetchResult & { error?: string } }>,
    audit: EgressRecord[],
  ) => Promise<void>,
): Promise<void> {
  const dir = Deno.makeTempDirSync();
  const audit: EgressRecord[] = [];
  const approved = options.approved ?? new Set<string>();
  const broker = new EgressBroker({
    policy: { allowsHost: (group, host) => group === "g1" && approved.has(host) },
    onAudit: (r) => audit.push({ ...r }),
    ...options,
  });
  await broker.openSession(SESSION, { agentGroupId: "g1", socketPath: `${dir}/egress.sock` });
  using unix = unixSocketFetch(`${dir}/egress.sock`);
  try {
    await fn(async (path, body) => {
      const res = await unix.fetch(`http://egress.ironclaw.internal${path}`, {
        method: "POST",
        body: JSON.stringify(body),
      });
      return { status: res.status, json: await res.json() };
    }, audit);
  } finally {
    await broker.close();
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("deny by default; an approval is live at once; HTML comes back as readable Markdown without scripts", async () => {
  await withUpstream(async (origin) => {
    const approved = new Set<string>();
    await withBroker({ approved, allowPrivate: [origin.host] }, async (call, audit) => {
      const url = `${origin}page?token=secret-query`;
      const refused = await call(EGRESS_FETCH_PATH, { url });
      assert.equal(refused.status, 403);
      assert.match(
        refused.json.error!,
        /127\.0\.0\.1 is not approved for this agent; ask for it with request_api_access/,
      );
      approved.add("127.0.0.1");
      const ok = await call(EGRESS_FETCH_PATH, { url });
      assert.equal(ok.status, 200);
      assert.equal(ok.json.status, 200);
      assert.equal(ok.json.contentType, "text/html");
      assert.match(ok.json.text, /^# Field notes/);
      assert.match(ok.json.text, /Readable words about brokers/);
      assert.match(ok.json.text, /\[link\]\(\/more\)/);
      assert.doesNotMatch(ok.json.text, /steal|<script/);
      assert.deepEqual(audit.map((r) => [r.tool, r.method, r.host, r.path, r.status, r.allowed]), [
        ["fetch", "GET", origin.host, "/page", 403, false],
        ["fetch", "GET", origin.host, "/page", 200, true],
      ]);
      assert.ok(audit[1].bytes > 0 && audit[1].durationMs >= 0);
      assert.doesNotMatch(JSON.stringify(audit), /secret-query/, "the query string is never audited");
    });
  });
});

Deno.test("an approved host on a private address is still refused without the operator's exact host:port", async () => {
  await withUpstream(async (origin) => {
    await withBroker({ approved: new Set(["127.0.0.1", "localhost"]) }, async (call, audit) => {
      const res = await call(EGRESS_FETCH_PATH, { url: `${origin}page` });
      assert.equal(res.status, 403);
      assert.match(res.json.error!, /loopback address; only public addresses/);
      assert.equal(audit[0].allowed, false);
    });
  });
});

Deno.test("DNS rebinding: the broker resolves once and connects to the address it checked", async () => {
  await withUpstream(async (origin) => {
    let lookups = 0;
    // First answer: the allowed local server. Any later answer would point somewhere else entirely.
    const resolve: Resolver = () => Promise.resolve(lookups++ === 0 ? ["127.0.0.1"] : ["10.255.255.1"]);
    const allowPrivate = [`rebind.test:${origin.port}`];
    await withBroker({ approved: new Set(["rebind.test"]), resolve, allowPrivate }, async (call) => {
      const res = await call(EGRESS_FETCH_PATH, { url: `http://rebind.test:${origin.port}/plain` });
      assert.equal(res.json.text, "plain");
      assert.equal(lookups, 1);
    });
    // And a name that answers loopback when the operator allowed nothing is refused after resolution.
    await withBroker(
      { approved: new Set(["rebind.test"]), resolve: () => Promise.resolve(["127.0.0.1"]) },
      async (call) => {
        const res = await call(EGRESS_FETCH_PATH, { url: `http://rebind.test:${origin.port}/plain` });
        assert.equal(res.status, 403);
      },
    );
  });
});

Deno.test("redirects are re-checked at every hop and capped", async () => {
  await withUpstream(async (origin) => {
    await withBroker(
      { approved: new Set(["127.0.0.1", "169.254.169.254"]), allowPrivate: [origin.host] },
      async (call) => {
        const other = await call(EGRESS_FETCH_PATH, { url: `${origin}to-other` });
        assert.equal(other.status, 403);
        assert.match(other.json.error!, /localhost is not approved/);
        const metadata = await call(EGRESS_FETCH_PATH, { url: `${origin}to-metadata` });
        assert.equal(metadata.status, 403);
        assert.match(metadata.json.error!, /169\.254\.169\.254.*linkLocal/);
        const loop = await call(EGRESS_FETCH_PATH, { url: `${origin}loop` });
        assert.equal(loop.status, 403);
        assert.match(loop.json.error!, /more than 5 redirects/);
      },
    );
  });
});

Deno.test("a granted credential overwrites the agent's header, reaches the server, and its echo is redacted", async () => {
  await withUpstream(async (origin, seen) => {
    const policy: EgressBrokerOptions["policy"] = {
      allowsHost: (_g, host) => host === "127.0.0.1",
      credentialsFor: (_g, url) =>
        Promise.resolve(
          url.hostname === "127.0.0.1"
            ? [{ credential: "api", header: "Authorization", value: "Bearer s3cr3t-v4lue" }]
            : [],
        ),
    };
    await withBroker({ policy, allowPrivate: [origin.host] }, async (call, audit) => {
      const res = await call(EGRESS_FETCH_PATH, {
        url: `${origin}echo`,
        headers: { authorization: "Bearer agent-made" },
      });
      assert.equal(seen.at(-1)!.headers.get("authorization"), "Bearer s3cr3t-v4lue");
      assert.doesNotMatch(res.json.text, /s3cr3t/);
      assert.match(res.json.text, /\[REDACTED\]/);
      assert.equal(audit[0].credential, "api");
    });
  });
});

Deno.test("bodies are cut at the cap, and the session's rate cap answers 429", async () => {
  await withUpstream(async (origin) => {
    await withBroker({
      approved: new Set(["127.0.0.1"]),
      allowPrivate: [origin.host],
      limits: { maxBodyBytes: 1000 },
      rateLimit: { perSecond: 0.001, burst: 2 },
    }, async (call, audit) => {
      const big = await call(EGRESS_FETCH_PATH, { url: `${origin}big` });
      assert.equal(big.json.text.length, 1000);
      assert.equal(big.json.truncated, true);
      assert.equal((await call(EGRESS_FETCH_PATH, { url: "ftp://x/" })).status, 403);
      assert.equal((await call(EGRESS_FETCH_PATH, { url: `${origin}big` })).status, 429);
      assert.equal(audit.length, 3);
    });
  });
});

Deno.test("web_search without a backend says how to configure one", async () => {
  await withBroker({}, async (call) => {
    const res = await call(EGRESS_SEARCH_PATH, { query: "deno" });
    assert.equal(res.status, 403);
    assert.match(res.json.error!, /serve --search-backend/);
  });
});

Deno.test("https is verified against the name: a trusted certificate passes, an unknown issuer is refused", async () => {
  const testdata = new URL("./testdata/", import.meta.url);
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: Deno.readTextFileSync(new URL("server.pem", testdata)),
    key: Deno.readTextFileSync(new URL("server.key", testdata)),
    onListen() {},
  }, () => new Response("over tls", { headers: { "content-type": "text/plain" } }));
  const port = server.addr.port;
  const ca = Deno.readTextFileSync(new URL("ca.pem", testdata));
  const options = {
    approved: new Set(["localhost"]),
    allowPrivate: [`localhost:${port}`],
    resolve: () => Promise.resolve(["127.0.0.1"]),
  };
  try {
    await withBroker({ ...options, caCerts: [ca] }, async (call) => {
      const res = await call(EGRESS_FETCH_PATH, { url: `https://localhost:${port}/` });
      assert.equal(res.json.text, "over tls");
    });
    await withBroker(options, async (call) => {
      const res = await call(EGRESS_FETCH_PATH, { url: `https://localhost:${port}/` });
      assert.equal(res.status, 502);
      assert.match(res.json.error!, /certificate|UnknownIssuer/i);
    });
  } finally {
    await server.shutdown();
  }
});
