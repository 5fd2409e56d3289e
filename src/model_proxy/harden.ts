/**
 * Header hygiene in both directions and secret scrubbing of response bodies.
 *
 * @module
 */

/** Credential headers the sandbox may send; always dropped before the proxy injects its own. */
export const INBOUND_CREDENTIAL_HEADERS = [
  "authorization",
  "x-api-key",
  "x-goog-api-key",
  "proxy-authorization",
  "cookie",
] as const;

/** Response headers that never reach the sandbox. */
export const STRIPPED_RESPONSE_HEADERS = [
  "set-cookie",
  "authorization",
  "x-api-key",
  "proxy-authorization",
] as const;

/** Hop-by-hop headers (RFC 9110 §7.6.1) plus those the transport recomputes. */
const HOP_BY_HOP = [
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "content-length",
  "host",
];

/** Content encodings fetch decodes for us (given they were the ones accepted). */
const DECODED_ENCODINGS = ["gzip", "br"];

/** What replaces a secret in a response body. */
export const REDACTED = "[REDACTED]";

function dropHopByHop(headers: Headers): void {
  for (const token of (headers.get("connection") ?? "").split(",")) {
    if (token.trim()) headers.delete(token.trim());
  }
  for (const name of HOP_BY_HOP) headers.delete(name);
}

/** The headers to send upstream: the sandbox's, minus credentials and hop-by-hop ones. */
export function upstreamRequestHeaders(inbound: Headers): Headers {
  const headers = new Headers(inbound);
  dropHopByHop(headers);
  for (const name of INBOUND_CREDENTIAL_HEADERS) headers.delete(name);
  // Only encodings fetch decodes, so the proxy always sees plain bytes to scrub.
  headers.set("accept-encoding", DECODED_ENCODINGS.join(", "));
  return headers;
}

/**
 * The headers to return to the sandbox, or undefined when the body is in an
 * encoding the proxy cannot read (and so cannot scrub).
 */
export function sandboxResponseHeaders(upstream: Headers): Headers | undefined {
  const headers = new Headers(upstream);
  dropHopByHop(headers);
  for (const name of STRIPPED_RESPONSE_HEADERS) headers.delete(name);
  const encoding = headers.get("content-encoding")?.trim().toLowerCase();
  if (encoding !== undefined && encoding !== "identity" && !DECODED_ENCODINGS.includes(encoding)) {
    return undefined;
  }
  headers.delete("content-encoding");
  return headers;
}

/** True for a server-sent-event stream, which is passed through unbuffered. */
export function isEventStream(headers: Headers): boolean {
  return headers.get("content-type")?.split(";")[0].trim().toLowerCase() === "text/event-stream";
}

/** `body` with every occurrence of each secret replaced by {@link REDACTED}. */
export function redactSecrets(
  body: Uint8Array<ArrayBuffer>,
  secrets: readonly string[],
): Uint8Array<ArrayBuffer> {
  const encoder = new TextEncoder();
  const replacement = encoder.encode(REDACTED);
  // Longest first, so a secret that contains another is replaced whole.
  for (const secret of [...secrets].filter((s) => s !== "").sort((a, b) => b.length - a.length)) {
    body = replaceAll(body, encoder.encode(secret), replacement);
  }
  return body;
}

function replaceAll(
  haystack: Uint8Array<ArrayBuffer>,
  needle: Uint8Array,
  replacement: Uint8Array,
): Uint8Array<ArrayBuffer> {
  const parts: Uint8Array[] = [];
  let from = 0;
  for (let at = indexOf(haystack, needle, 0); at >= 0; at = indexOf(haystack, needle, from)) {
    parts.push(haystack.subarray(from, at), replacement);
    from = at + needle.length;
  }
  if (parts.length === 0) return haystack;
  parts.push(haystack.subarray(from));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  // The native scan for the first byte keeps this fast on megabyte bodies.
  for (let at = haystack.indexOf(needle[0], from); at >= 0; at = haystack.indexOf(needle[0], at + 1)) {
    if (at + needle.length > haystack.length) return -1;
    let i = 1;
    while (i < needle.length && haystack[at + i] === needle[i]) i++;
    if (i === needle.length) return at;
  }
  return -1;
}
