/**
 * `web_search` through the broker against local fakes that answer in each
 * backend's real format: DuckDuckGo's HTML endpoint (result links behind its
 * `/l/?uddg=` redirect, an ad to skip), Brave's Web Search API JSON (the key
 * in `X-Subscription-Token`), and SearXNG's JSON API.
 */
import assert from "node:assert/strict";
import type { SessionId } from "../../contract/ids.ts";
import { EGRESS_FETCH_PATH, EGRESS_SEARCH_PATH } from "../../contract/egress.ts";
import { unixSocketFetch } from "../../tests/support/model_proxy_unix_fetch.ts";
import {
  chooseSearchBackends,
  EgressBroker,
  type EgressRecord,
  parseSearchBackend,
  type SecretReader,
} from "./mod.ts";

const DDG_HTML = `<!DOCTYPE html><html><body><div id="links" class="results">
<div class="result results_links results_links_deep result--ad"><div class="links_main links_deep result__body">
<h2 class="result__title"><a rel="nofollow" class="result__a" href="https://duckduckgo.com/y.js?ad_domain=ads.example">Buy ferries</a></h2>
<a class="result__snippet" href="https://duckduckgo.com/y.js">Sponsored</a></div></div>
<div class="result results_links results_links_deep web-result "><div class="links_main links_deep result__body">
<h2 class="result__title"><a rel="nofollow" class="result__a" href="//duckduckgo.com/l/?uddg=https%3A%2F%2Fdeno.com%2F&amp;rut=abc">Deno, the <b>next-generation</b> JavaScript runtime</a></h2>
<div class="result__extras"><div class="result__extras__url"><a class="result__url" href="//duckduckgo.com/l/?uddg=https%3A%2F%2Fdeno.com%2F&amp;rut=abc">deno.com</a></div></div>
<a class="result__snippet" href="//duckduckgo.com/l/?uddg=https%3A%2F%2Fdeno.com%2F&amp;rut=abc">Deno is the open-source <b>JavaScript</b> runtime for the modern web.</a>
</div></div>
<div class="result results_links results_links_deep web-result "><div class="links_main links_deep result__body">
<h2 class="result__title"><a rel="nofollow" class="result__a" href="//duckduckgo.com/l/?uddg=https%3A%2F%2Fdocs.deno.com%2Fruntime%2F&amp;rut=def">Deno Docs</a></h2>
<a class="result__snippet" href="//duckduckgo.com/l/?uddg=https%3A%2F%2Fdocs.deno.com%2Fruntime%2F&amp;rut=def">${
  "Long snippet. ".repeat(40)
}</a>
</div></div></div></body></html>`;

const BRAVE_JSON = {
  type: "search",
  query: { original: "deno", more_results_available: true },
  mixed: { type: "mixed", main: [{ type: "web", index: 0, all: false }] },
  web: {
    type: "search",
    results: [
      {
        title: "Deno, the next-generation JavaScript runtime",
        url: "https://deno.com/",
        is_source_local: false,
        is_source_both: false,
        description: "<strong>Deno</strong> is the open-source JavaScript runtime for the modern web.",
        profile: { name: "Deno", url: "https://deno.com/", long_name: "deno.com" },
        language: "en",
        family_friendly: true,
        type: "search_result",
        meta_url: { scheme: "https", netloc: "deno.com", hostname: "deno.com", path: "" },
      },
      {
        title: "Deno - Wikipedia",
        url: "https://en.wikipedia.org/wiki/Deno_(software)",
        description: "<strong>Deno</strong> is a runtime for JavaScript, TypeScript, and WebAssembly.",
        extra_snippets: ["not read"],
        type: "search_result",
      },
      {
        title: "Debug echo",
        url: "https://echo.example/",
        description: "your token is brave-key-123",
        type: "search_result",
      },
    ],
    family_friendly: true,
  },
};

const SEARXNG_JSON = {
  query: "deno",
  number_of_results: 0,
  results: [
    {
      url: "https://deno.com/",
      title: "Deno, the next-generation JavaScript runtime",
      content: "Deno is the open-source JavaScript runtime for the modern web.",
      engine: "duckduckgo",
      parsed_url: ["https", "deno.com", "/", "", "", ""],
      template: "default.html",
      engines: ["duckduckgo", "brave"],
      positions: [1, 1],
      score: 4.0,
      category: "general",
    },
    { url: "https://deno.com/", title: "duplicate", content: "", engine: "brave", score: 1 },
    { url: "javascript:alert(1)", title: "not a web link", content: "", engine: "x", score: 1 },
  ],
  answers: [],
  corrections: [],
  infoboxes: [],
  suggestions: ["deno deploy"],
  unresponsive_engines: [],
};

/** One fake server speaking all three formats on their real paths. */
interface Seen {
  url: string;
  headers: Headers;
}

async function withFakes(fn: (origin: string, seen: Seen[]) => Promise<void>): Promise<void> {
  const seen: Seen[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    seen.push({ url: req.url, headers: new Headers(req.headers) });
    const url = new URL(req.url);
    if (url.pathname === "/html/") {
      return new Response(DDG_HTML, { headers: { "content-type": "text/html" } });
    }
    if (url.pathname === "/res/v1/web/search") {
      if (req.headers.get("x-subscription-token") !== "brave-key-123") {
        return Response.json({ type: "ErrorResponse", error: { code: "SUBSCRIPTION_TOKEN_INVALID" } }, {
          status: 422,
        });
      }
      return Response.json(BRAVE_JSON);
    }
    if (url.pathname === "/searx/search" && url.searchParams.get("format") === "json") {
      return Response.json(SEARXNG_JSON);
    }
    return new Response("not found", { status: 404 });
  });
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`, seen);
  } finally {
    await server.shutdown();
  }
}

const secrets: SecretReader = (name) => Promise.resolve(name === "brave" ? "brave-key-123" : undefined);

async function search(spec: string, body: unknown, audit: EgressRecord[] = []) {
  const dir = Deno.makeTempDirSync();
  const broker = new EgressBroker({
    policy: { allowsHost: () => false },
    search: chooseSearchBackends({ perGroup: [`g=${spec}`] }, secrets),
    onAudit: (r) => audit.push(r),
  });
  await broker.openSession("s" as SessionId, { agentGroupId: "g", socketPath: `${dir}/e.sock` });
  using unix = unixSocketFetch(`${dir}/e.sock`);
  try {
    const res = await unix.fetch(`http://egress${EGRESS_SEARCH_PATH}`, {
      method: "POST",
      body: JSON.stringify(body),
    });
    const fetched = await unix.fetch(`http://egress${EGRESS_FETCH_PATH}`, {
      method: "POST",
      body: JSON.stringify({ url: spec.split("=")[1] }),
    });
    return { status: res.status, json: await res.json(), fetchStatus: fetched.status };
  } finally {
    await broker.close();
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("duckduckgo: results decoded from the HTML endpoint, ads skipped, snippets clipped", async () => {
  await withFakes(async (origin, seen) => {
    const { json, fetchStatus } = await search(`duckduckgo=${origin}/html/`, {
      query: "deno runtime",
      max_results: 5,
    });
    assert.equal(json.backend, "duckduckgo");
    assert.deepEqual(json.results.map((r: { url: string }) => r.url), [
      "https://deno.com/",
      "https://docs.deno.com/runtime/",
    ]);
    assert.equal(json.results[0].title, "Deno, the next-generation JavaScript runtime");
    assert.equal(json.results[0].snippet, "Deno is the open-source JavaScript runtime for the modern web.");
    assert.ok(json.results[1].snippet.length <= 301 && json.results[1].snippet.endsWith("…"));
    assert.equal(new URL(seen[0].url).searchParams.get("q"), "deno runtime");
    assert.match(seen[0].headers.get("user-agent")!, /Mozilla/);
    assert.equal(fetchStatus, 403, "the backend's host is web_search's only, not http_fetch's");
  });
});

Deno.test("brave: the key goes from the vault into X-Subscription-Token host-side; tags stripped", async () => {
  await withFakes(async (origin, seen) => {
    const audit: EgressRecord[] = [];
    const { json } = await search(
      `brave=${origin}/res/v1/web/search`,
      { query: "deno", max_results: 1 },
      audit,
    );
    assert.deepEqual(json, {
      backend: "brave",
      results: [{
        title: "Deno, the next-generation JavaScript runtime",
        url: "https://deno.com/",
        snippet: "Deno is the open-source JavaScript runtime for the modern web.",
      }],
    });
    assert.equal(new URL(seen[0].url).searchParams.get("count"), "1");
    assert.equal(audit[0].credential, "brave");
    assert.doesNotMatch(JSON.stringify(json), /brave-key-123/);
  });
});

Deno.test("brave without its key in the vault says how to set it", async () => {
  await withFakes(async (origin) => {
    const { status, json } = await search(`brave:other=${origin}/res/v1/web/search`, { query: "deno" });
    assert.equal(status, 403);
    assert.match(json.error, /ironclaw vault set other/);
  });
});

Deno.test("searxng: the instance's JSON API, duplicates and non-web links dropped", async () => {
  await withFakes(async (origin) => {
    const { json } = await search(`searxng=${origin}/searx`, { query: "deno" });
    assert.deepEqual(json.results.map((r: { url: string }) => r.url), ["https://deno.com/"]);
    assert.equal(json.backend, "searxng");
  });
});

Deno.test("--search-backend is checked with a one-line error", () => {
  for (const bad of ["bing", "searxng", "duckduckgo:key", "brave=ftp://x"]) {
    assert.throws(() => parseSearchBackend(bad, secrets), /--search-backend takes/, bad);
  }
  assert.equal(parseSearchBackend("duckduckgo", secrets).host, "html.duckduckgo.com");
  assert.equal(parseSearchBackend("brave", secrets).credential, "brave");
});

Deno.test("each agent group searches with its own backend, else the host's, else none", () => {
  const choose = chooseSearchBackends({
    fallback: "duckduckgo",
    perGroup: ["research=searxng=https://searx.example.org"],
  }, secrets);
  assert.equal(choose("research")?.name, "searxng");
  assert.equal(choose("demo")?.name, "duckduckgo");
  assert.equal(chooseSearchBackends({}, secrets)("demo"), undefined);
  assert.throws(
    () => chooseSearchBackends({ perGroup: ["duckduckgo"] }, secrets),
    /--search-backend-for takes GROUP=BACKEND/,
  );
});

Deno.test("brave: a result echoing the key shows it redacted", async () => {
  await withFakes(async (origin) => {
    const { json } = await search(`brave=${origin}/res/v1/web/search`, { query: "deno" });
    assert.equal(json.results.length, 3);
    assert.equal(json.results[2].snippet, "your token is [REDACTED]");
    assert.doesNotMatch(JSON.stringify(json), /brave-key-123/);
  });
});
