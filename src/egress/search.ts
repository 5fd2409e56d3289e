/**
 * `web_search` backends, chosen host-side by the operator
 * (`serve --search-backend NAME[:SECRET][=URL]`):
 *
 * - `duckduckgo`: keyless; the HTML endpoint (`html.duckduckgo.com/html/`),
 *   result links decoded from DuckDuckGo's `uddg=` redirects.
 * - `brave`: the Brave Search API, its key the vault secret named after the
 *   colon (default `brave`), sent as `X-Subscription-Token` host-side.
 * - `searxng=URL`: a self-hosted SearXNG instance's JSON API (its `json`
 *   format enabled), what a self-hoster would pick.
 *
 * A URL after `=` points any backend elsewhere (a mirror, a local fake).
 * The backend's host is reachable by `web_search` only.
 *
 * @module
 */
import type { SearchHit, SearchRequest, SearchResult } from "../../contract/egress.ts";
import { bareHostname, EgressRefused, portOf } from "./address_guard.ts";
import { REDACTED } from "../model_proxy/mod.ts";
import { parseDocument } from "./dom.ts";
import type { FetchedResponse } from "./guarded_fetch.ts";

/** A GET through the broker's guard, to the backend's own host only. */
export type BackendGet = (url: URL, init: { headers: Record<string, string> }) => Promise<FetchedResponse>;

/** One configured backend. */
export interface SearchBackend {
  readonly name: string;
  /** The backend URL's host (for the audit record). */
  readonly host: string;
  /** `host:port`, which the operator's choice lets through even when private. */
  readonly hostPort: string;
  /** The backend URL's path (for the audit record). */
  readonly path: string;
  /** The vault secret it uses, by name. */
  readonly credential?: string;
  search(request: SearchRequest & { max_results: number }, get: BackendGet): Promise<SearchResult>;
}

/** Reads a vault secret host-side (the Brave key); undefined when it is not set. */
export type SecretReader = (name: string) => Promise<string | undefined>;

const DEFAULT_URLS: Record<string, string> = {
  duckduckgo: "https://html.duckduckgo.com/html/",
  brave: "https://api.search.brave.com/res/v1/web/search",
};

const SNIPPET_CHARS = 300;
/** A desktop browser's User-Agent: DuckDuckGo's HTML endpoint refuses obvious robots. */
const BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

/**
 * Parses `--search-backend`'s value. Throws a one-line error with the
 * accepted forms.
 */
export function parseSearchBackend(spec: string, secrets: SecretReader): SearchBackend {
  const match = /^(duckduckgo|brave|searxng)(?::([a-z0-9][a-z0-9._-]*))?(?:=(.+))?$/.exec(spec.trim());
  const usage =
    "--search-backend takes duckduckgo, brave[:SECRET] or searxng=URL (any of them =URL to override)";
  if (!match) throw new Error(`${usage}; got ${JSON.stringify(spec)}`);
  const [, name, secretName, urlText] = match;
  if (secretName !== undefined && name !== "brave") throw new Error(`${usage}: only brave takes a secret`);
  const base = URL.parse(urlText ?? DEFAULT_URLS[name] ?? "");
  if (base === null || (base.protocol !== "https:" && base.protocol !== "http:")) {
    throw new Error(`${usage}: ${name} needs an http(s) URL`);
  }
  const host = bareHostname(base.hostname);
  const where = {
    name,
    host: base.host,
    hostPort: host.includes(":") ? `[${host}]:${portOf(base)}` : `${host}:${portOf(base)}`,
    path: base.pathname,
  };
  if (name === "duckduckgo") return { ...where, search: (req, get) => duckduckgo(base, req, get) };
  if (name === "searxng") return { ...where, search: (req, get) => searxng(base, req, get) };
  const credential = secretName ?? "brave";
  return {
    ...where,
    credential,
    search: async (req, get) => {
      const key = await secrets(credential);
      if (key === undefined) {
        throw new EgressRefused(`egress: the brave backend needs its key: ironclaw vault set ${credential}`);
      }
      return brave(base, key, req, get);
    },
  };
}

/** Which backend each agent group searches with. */
export type SearchBackendChoice = (agentGroupId: string) => SearchBackend | undefined;

/**
 * The operator's choice per agent group: its own (`--search-backend-for
 * GROUP=BACKEND`, repeatable), else the host's (`--search-backend`), else
 * none. Throws a one-line error for a malformed entry.
 */
export function chooseSearchBackends(
  specs: { fallback?: string; perGroup?: readonly string[] },
  secrets: SecretReader,
): SearchBackendChoice {
  const fallback = specs.fallback ? parseSearchBackend(specs.fallback, secrets) : undefined;
  const byGroup = new Map((specs.perGroup ?? []).map((entry) => {
    const at = entry.indexOf("=");
    if (at <= 0) {
      throw new Error(
        `--search-backend-for takes GROUP=BACKEND (e.g. research=searxng=https://…); got ${
          JSON.stringify(entry)
        }`,
      );
    }
    return [entry.slice(0, at), parseSearchBackend(entry.slice(at + 1), secrets)] as const;
  }));
  return (agentGroupId) => byGroup.get(agentGroupId) ?? fallback;
}

async function getOk(get: BackendGet, url: URL, headers: Record<string, string>): Promise<FetchedResponse> {
  const response = await get(url, { headers });
  if (response.status < 200 || response.status > 299) {
    throw new EgressRefused(`egress: the search backend answered ${response.status}`);
  }
  return response;
}

async function duckduckgo(base: URL, req: Req, get: BackendGet): Promise<SearchResult> {
  const url = new URL(base);
  url.searchParams.set("q", req.query);
  const response = await getOk(get, url, { "user-agent": BROWSER_UA, accept: "text/html" });
  const document = parseDocument(new TextDecoder().decode(response.body));
  const hits: SearchHit[] = [];
  for (const result of document.querySelectorAll(".result")) {
    if (result.classList.contains("result--ad")) continue;
    const link = result.querySelector("a.result__a");
    if (!link) continue;
    hits.push({
      title: clean(link.textContent),
      url: decodeDuckLink(link.getAttribute("href") ?? ""),
      snippet: clean(result.querySelector(".result__snippet")?.textContent),
    });
  }
  return finish("duckduckgo", hits, req);
}

/** DuckDuckGo's result links go through `//duckduckgo.com/l/?uddg=<target>`. */
function decodeDuckLink(href: string): string {
  const url = URL.parse(href, "https://duckduckgo.com/");
  return url?.searchParams.get("uddg") ?? url?.href ?? href;
}

async function brave(base: URL, key: string, req: Req, get: BackendGet): Promise<SearchResult> {
  const url = new URL(base);
  url.searchParams.set("q", req.query);
  url.searchParams.set("count", String(req.max_results));
  const response = await getOk(get, url, { accept: "application/json", "x-subscription-token": key });
  const body = parseJson(response) as {
    web?: { results?: { title?: string; url?: string; description?: string }[] };
  };
  // An API that echoes its key must not hand it to the agent.
  const scrub = (text: string) => text.replaceAll(key, REDACTED);
  const hits = (body.web?.results ?? []).map((r) => ({
    title: scrub(clean(stripTags(r.title))),
    url: scrub(r.url ?? ""),
    snippet: scrub(clean(stripTags(r.description))),
  }));
  return finish("brave", hits, req);
}

async function searxng(base: URL, req: Req, get: BackendGet): Promise<SearchResult> {
  const url = new URL("search", base.href.endsWith("/") ? base : `${base.href}/`);
  url.searchParams.set("q", req.query);
  url.searchParams.set("format", "json");
  const response = await getOk(get, url, { accept: "application/json" });
  const body = parseJson(response) as { results?: { title?: string; url?: string; content?: string }[] };
  const hits = (body.results ?? []).map((r) => ({
    title: clean(r.title),
    url: r.url ?? "",
    snippet: clean(r.content),
  }));
  return finish("searxng", hits, req);
}

type Req = SearchRequest & { max_results: number };

function parseJson(response: FetchedResponse): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(response.body));
  } catch {
    throw new EgressRefused("egress: the search backend answered with something that is not JSON");
  }
}

function stripTags(html: string | undefined): string {
  return parseDocument(html ?? "").body.textContent ?? "";
}

function clean(text: string | null | undefined): string {
  return (text ?? "").replace(/\s+/g, " ").trim();
}

/** Only http(s) results, each URL once, snippets clipped, at most `max_results`. */
function finish(backend: string, hits: SearchHit[], req: Req): SearchResult {
  const seen = new Set<string>();
  const results = hits.filter((h) => /^https?:\/\//.test(h.url) && !seen.has(h.url) && seen.add(h.url))
    .slice(0, req.max_results)
    .map((h) => ({
      ...h,
      snippet: h.snippet.length > SNIPPET_CHARS ? `${h.snippet.slice(0, SNIPPET_CHARS)}…` : h.snippet,
    }));
  return { backend, results };
}
