/**
 * One outbound HTTP exchange as the broker makes it: each hop's URL is
 * re-approved by the caller and re-checked by the address guard, the
 * connection goes to the checked address (TLS verified against the name),
 * redirects are followed by hand up to a limit, and the body is read up to a
 * cap within a deadline.
 *
 * @module
 */
import { http1Fetch } from "../../contract/http1_client.ts";
import {
  type CheckedTarget,
  checkTarget,
  EgressRefused,
  type PrivateAllowance,
  type Resolver,
} from "./address_guard.ts";

/** Caps on one exchange. */
export interface FetchLimits {
  /** The whole exchange, redirects included. */
  timeoutMs: number;
  /** Body bytes read; the rest is cut and `truncated` set. */
  maxBodyBytes: number;
  maxRedirects: number;
}

/** 30 s, 1 MiB, 5 redirects. */
export const DEFAULT_FETCH_LIMITS: FetchLimits = {
  timeoutMs: 30_000,
  maxBodyBytes: 1 << 20,
  maxRedirects: 5,
};

/** How one exchange may reach the network. */
export interface GuardedFetchOptions {
  resolve: Resolver;
  allowPrivate: PrivateAllowance;
  limits: FetchLimits;
  /**
   * Approves one hop and returns the headers to send to it: throws
   * {@link EgressRefused} for a host the caller may not reach. Called for the
   * first URL and again for every redirect target, so a credential meant for
   * one host is never carried to another.
   */
  prepareHop(url: URL): Headers | Promise<Headers>;
  /** Extra trust anchors (PEM) for TLS, for tests' local servers; the system roots otherwise. */
  caCerts?: string[];
  /** Cancels the exchange (the session closed). */
  signal?: AbortSignal;
}

/** What came back. */
export interface FetchedResponse {
  status: number;
  headers: Headers;
  body: Uint8Array<ArrayBuffer>;
  truncated: boolean;
  /** The URL that answered. */
  url: URL;
}

const REDIRECTS = [301, 302, 303, 307, 308];

/** Fetches `url`, following redirects under the same checks. */
export async function guardedFetch(
  first: { url: URL; method: string; body?: Uint8Array<ArrayBuffer> },
  options: GuardedFetchOptions,
): Promise<FetchedResponse> {
  const signals = [AbortSignal.timeout(options.limits.timeoutMs), options.signal].filter((s) =>
    s !== undefined
  );
  const signal = AbortSignal.any(signals);
  let { url, method, body } = first;
  for (let hop = 0;; hop++) {
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new EgressRefused(`egress: only http and https URLs can be fetched, not ${url.protocol}`);
    }
    if (url.username || url.password) throw new EgressRefused("egress: URLs with credentials are refused");
    const headers = await options.prepareHop(url);
    const target = await checkTarget(url, options);
    const response = await http1Fetch(
      new Request(url, {
        method,
        headers,
        body: method === "GET" || method === "HEAD" ? undefined : body,
        signal,
      }),
      { target: "origin", connect: () => connectChecked(url, target, options.caCerts) },
    );
    const location = response.headers.get("location");
    if (!REDIRECTS.includes(response.status) || location === null) {
      const read = await readCapped(response.body, options.limits.maxBodyBytes);
      return { status: response.status, headers: response.headers, url, ...read };
    }
    await response.body?.cancel();
    if (hop >= options.limits.maxRedirects) {
      throw new EgressRefused(`egress: more than ${options.limits.maxRedirects} redirects`);
    }
    const next = URL.parse(location, url);
    if (next === null) throw new EgressRefused("egress: a redirect to a malformed URL");
    // 303, and 301/302 after a POST, become a GET without a body (as browsers do).
    if (
      response.status === 303 || ((response.status === 301 || response.status === 302) && method === "POST")
    ) {
      method = "GET";
      body = undefined;
    }
    url = next;
  }
}

/**
 * A connection to the address {@link checkTarget} checked for `url` (never
 * a fresh lookup of its name: no DNS-rebinding window), TLS verified against
 * the name for https (`caCerts`: extra trust anchors, else the system's).
 */
export async function connectChecked(
  url: URL,
  target: CheckedTarget,
  caCerts?: string[],
): Promise<Deno.Conn> {
  const conn = await Deno.connect({ hostname: target.address, port: target.port });
  if (url.protocol === "http:") return conn;
  return await Deno.startTls(conn, { hostname: target.hostname, caCerts });
}

async function readCapped(
  stream: ReadableStream<Uint8Array> | null,
  limit: number,
): Promise<{ body: Uint8Array<ArrayBuffer>; truncated: boolean }> {
  const out = new Uint8Array(limit);
  let size = 0;
  if (stream === null) return { body: out.subarray(0, 0), truncated: false };
  for await (const chunk of stream) {
    const room = limit - size;
    out.set(chunk.subarray(0, room), size);
    size += Math.min(room, chunk.byteLength);
    // Leaving the loop cancels the stream: the rest is never read.
    if (chunk.byteLength > room) return { body: out.slice(0, size), truncated: true };
  }
  return { body: out.slice(0, size), truncated: false };
}
