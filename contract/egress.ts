/**
 * The egress broker's wire: what the agent's `http_fetch` and `web_search`
 * tools send over the session's `egress.sock`, and what comes back. The
 * broker does the network work host-side (name resolution, the address
 * check, TLS, redirects, credential injection, HTML to text); the agent sends
 * JSON and receives text, never a script and never a secret.
 *
 * @module
 */
import { z } from "zod";

/** The host name the agent addresses the broker by (the socket, not the name, is what reaches it). */
export const EGRESS_BROKER_HOST = "egress.ironclaw.internal";

/** `POST /v1/fetch` */
export const EGRESS_FETCH_PATH = "/v1/fetch";
/** `POST /v1/search` */
export const EGRESS_SEARCH_PATH = "/v1/search";

/** Methods `http_fetch` may use. */
export const FetchMethod = z.enum(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]);
export type FetchMethod = z.infer<typeof FetchMethod>;

/** Largest request body the agent may send, in bytes of UTF-8. */
export const MAX_FETCH_BODY_BYTES = 256 * 1024;

/** `http_fetch`'s input, which is also the body of `POST /v1/fetch`. */
export const FetchRequest = z.strictObject({
  url: z.string().max(8192).describe("absolute http:// or https:// URL"),
  method: FetchMethod.default("GET").describe("HTTP method (default GET)"),
  headers: z.record(z.string().max(256), z.string().max(8192)).optional().describe("request headers"),
  body: z.string().refine((s) => new TextEncoder().encode(s).length <= MAX_FETCH_BODY_BYTES, {
    message: `a request body may hold at most ${MAX_FETCH_BODY_BYTES} bytes`,
  }).optional().describe("request body (text)"),
});
export type FetchRequest = z.input<typeof FetchRequest>;

/** What `POST /v1/fetch` answers when the broker fetched (whatever the upstream status). */
export const FetchResult = z.object({
  status: z.number().int(),
  /** The upstream's media type, without parameters ("" when none). */
  contentType: z.string(),
  /** The URL that answered, after redirects. */
  url: z.string(),
  /** The body as text: HTML turned into readable Markdown, other text as is, binary described. */
  text: z.string(),
  /** The body was cut at the size cap. */
  truncated: z.boolean(),
});
export type FetchResult = z.infer<typeof FetchResult>;

/** `web_search`'s input, which is also the body of `POST /v1/search`. */
export const SearchRequest = z.strictObject({
  query: z.string().trim().min(1).max(512).describe("what to search for"),
  max_results: z.number().int().min(1).max(10).default(5).describe("how many results, 1-10 (default 5)"),
});
export type SearchRequest = z.input<typeof SearchRequest>;

/** One search result. */
export const SearchHit = z.object({ title: z.string(), url: z.string(), snippet: z.string() });
export type SearchHit = z.infer<typeof SearchHit>;

/** What `POST /v1/search` answers. */
export const SearchResult = z.object({ backend: z.string(), results: z.array(SearchHit) });
export type SearchResult = z.infer<typeof SearchResult>;

/** Any refusal or failure: `{error}` with a non-2xx status; the message is one line for the agent. */
export const EgressError = z.object({ error: z.string() });
