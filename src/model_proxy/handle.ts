/**
 * One request through the proxy: rate cap, allowlist, body cap, credential
 * swap, forwarding (or the in-process mock), response hardening, audit.
 *
 * @module
 */
import type { SessionId } from "../../contract/ids.ts";
import { nowTimestamp, type Timestamp } from "../../contract/time.ts";
import { MODEL_BUDGET_ERROR } from "../../contract/sockets.ts";
import { countingStream, readCapped } from "../http/mod.ts";
import { injectCredential } from "./credentials.ts";
import { isEventStream, redactSecrets, sandboxResponseHeaders, upstreamRequestHeaders } from "./harden.ts";
import { mockUpstream } from "./mock/mod.ts";
import type { TokenBucket } from "./token_bucket.ts";
import type { Allowlist } from "./upstreams.ts";
import { modelUsage, prepareRequest, responseUsage, StreamUsage, type UsageSink } from "./usage.ts";

/** One request's audit record: metadata only, never payloads or credentials. */
export interface ModelCallRecord {
  /** When the request arrived. */
  time: Timestamp;
  /** The session whose socket it came in on. */
  session: SessionId;
  method: string;
  /** The addressed host (lower-cased, port kept when not the scheme's default); empty when none. */
  host: string;
  /** The request path without its query string. */
  path: string;
  /** The status returned to the sandbox. */
  status: number;
  /** The host was on the allowlist. */
  allowed: boolean;
  /** The session's rate cap refused the request. */
  rateLimited: boolean;
  /** The upstream could not be reached (no such host, refused, reset): the proxy answered 502 itself. */
  unreachable: boolean;
  /** Request body bytes read from the sandbox. */
  requestBytes: number;
  /** Response body bytes sent to the sandbox. */
  responseBytes: number;
  /** From arrival to the last response byte. */
  durationMs: number;
}

/** Size limits in bytes. */
export interface ModelProxyLimits {
  /** Largest request body accepted (larger ⇒ 413). */
  maxRequestBytes: number;
  /** Largest non-streaming upstream response relayed (larger ⇒ 502). */
  maxResponseBytes: number;
  /** Non-streaming responses up to this size are scrubbed of secrets. */
  maxRedactedBytes: number;
}

/** 8 MiB requests, 16 MiB responses, secrets scrubbed from responses up to 1 MiB. */
export const DEFAULT_LIMITS: ModelProxyLimits = {
  maxRequestBytes: 8 << 20,
  maxResponseBytes: 16 << 20,
  maxRedactedBytes: 1 << 20,
};

/** What every request of one proxy shares. */
export interface ProxyConfig {
  allowlist: Allowlist;
  limits: ModelProxyLimits;
  record(record: ModelCallRecord): void;
  /** Where each call's token usage goes (absent: not counted). */
  usage?: UsageSink;
}

/** Per-session state: the socket is the caller's identity. */
export interface SessionContext {
  id: SessionId;
  /** Absent when rate capping is off. */
  bucket?: TokenBucket;
  /** Aborted when the session closes, cancelling its upstream calls. */
  signal: AbortSignal;
}

const NULL_BODY_STATUSES = [101, 204, 205, 304];

/** The error body the proxy answers with; both SDKs surface `error.message`. */
function proxyError(
  status: number,
  message: string,
  type = "model_proxy_error",
): { response: Response; bytes: number } {
  const body = new TextEncoder().encode(JSON.stringify({ error: { type, message } }));
  return {
    response: new Response(body, { status, headers: { "content-type": "application/json" } }),
    bytes: body.length,
  };
}

/** Serves one sandbox request. */
export async function handleModelRequest(
  req: Request,
  session: SessionContext,
  config: ProxyConfig,
): Promise<Response> {
  const started = performance.now();
  const time = nowTimestamp();
  // Deno builds the URL from an absolute-form target, else from Host.
  const parsed = URL.parse(req.url);
  const url = parsed?.protocol === "http:" || parsed?.protocol === "https:" ? parsed : undefined;
  let requestBytes = 0;
  const record = (
    status: number,
    allowed: boolean,
    rateLimited: boolean,
    responseBytes: number,
    unreachable = false,
  ) =>
    config.record({
      time,
      session: session.id,
      method: req.method,
      host: url?.host ?? "",
      path: url?.pathname ?? "",
      status,
      allowed,
      rateLimited,
      unreachable,
      requestBytes,
      responseBytes,
      durationMs: performance.now() - started,
    });
  const refuse = (
    status: number,
    message: string,
    allowed: boolean,
    rateLimited = false,
    unreachable = false,
    type?: string,
  ) => {
    const { response, bytes } = proxyError(status, message, type);
    record(status, allowed, rateLimited, bytes, unreachable);
    return response;
  };

  // Every request costs a token, refused ones too, so a sandbox cannot flood the audit log.
  const rateLimited = session.bucket !== undefined && !session.bucket.take();
  const destination = url && config.allowlist.resolve(url.host, url.pathname + url.search);
  if (rateLimited) return refuse(429, "model-proxy: rate limit exceeded", destination !== undefined, true);
  if (!url || !destination) return refuse(403, "model-proxy: destination not on allowlist", false);
  const overBudget = config.usage?.refusal?.(session.id);
  if (overBudget !== undefined) {
    return refuse(MODEL_BUDGET_ERROR.status, overBudget, true, false, false, MODEL_BUDGET_ERROR.type);
  }

  const { maxRequestBytes, maxResponseBytes, maxRedactedBytes } = config.limits;
  if (Number(req.headers.get("content-length") ?? 0) > maxRequestBytes) {
    return refuse(413, "model-proxy: request body too large", true);
  }
  try {
    const body = await readCapped(req.body, maxRequestBytes);
    if (body === undefined) return refuse(413, "model-proxy: request body too large", true);
    requestBytes = body.length;
    const prepared = prepareRequest(url.pathname, body);
    const reportUsage = (tokens: Parameters<typeof modelUsage>[1]) => {
      const usage = modelUsage(prepared.model, tokens);
      if (usage) config.usage?.record(session.id, usage);
    };

    let upstream: Response;
    if (destination.kind === "mock") {
      upstream = mockUpstream(req.method, url.pathname, prepared);
    } else {
      const headers = upstreamRequestHeaders(req.headers);
      if (destination.secret !== undefined) injectCredential(headers, destination.host, destination.secret);
      upstream = await fetch(destination.url, {
        method: req.method,
        headers,
        body: req.method === "GET" || req.method === "HEAD" ? undefined : prepared.body,
        // A redirect is the sandbox's to follow: the proxy never carries credentials elsewhere.
        redirect: "manual",
        // Not req.signal: Deno aborts it once a response is sent. A sandbox that hangs up
        // mid-stream cancels the relayed body, which cancels the upstream read.
        signal: session.signal,
      });
    }

    const headers = sandboxResponseHeaders(upstream.headers);
    if (headers === undefined) {
      await upstream.body?.cancel();
      return refuse(502, "model-proxy: upstream content-encoding not supported", true);
    }
    const init = { status: upstream.status, statusText: upstream.statusText, headers };
    if (upstream.body !== null && isEventStream(headers)) {
      const scanner = new StreamUsage();
      return new Response(
        countingStream(upstream.body.pipeThrough(scanner.transform()), (n) => {
          record(upstream.status, true, false, n);
          reportUsage(scanner.tokens());
        }),
        init,
      );
    }
    const raw = await readCapped(upstream.body, maxResponseBytes);
    if (raw === undefined) return refuse(502, "model-proxy: upstream response too large", true);
    const out = raw.length <= maxRedactedBytes ? redactSecrets(raw, config.allowlist.secrets()) : raw;
    record(upstream.status, true, false, out.length);
    reportUsage(responseUsage(raw));
    return new Response(NULL_BODY_STATUSES.includes(upstream.status) ? null : out, init);
  } catch {
    return refuse(502, "model-proxy: upstream request failed", true, false, true);
  }
}
