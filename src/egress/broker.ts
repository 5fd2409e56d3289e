/**
 * The egress broker: one HTTP/1.1 listener per session on `egress.sock` in
 * that session's socket directory (bind-mounted into its sandbox). The
 * socket is the caller's identity: the broker knows the session and its
 * agent group from which socket a request came in on, never from a header.
 *
 * Deny by default: a fetch reaches only hosts a human approved for the
 * agent group (read at every request, so an approval is live at once), and
 * then only public addresses unless the operator let an exact `host:port`
 * through. Every request, allowed or refused, leaves one audit record.
 *
 * @module
 */
import {
  EGRESS_FETCH_PATH,
  EGRESS_SEARCH_PATH,
  FetchRequest,
  type FetchResult,
  SearchRequest,
  type SearchResult,
} from "../../contract/egress.ts";
import type { SessionId } from "../../contract/ids.ts";
import { nowTimestamp, type Timestamp } from "../../contract/time.ts";
import { type RateLimit, redactSecrets, TokenBucket } from "../model_proxy/mod.ts";
import { DEFAULT_SOCKET_MODE, SessionServers } from "../unix_socket/mod.ts";
import {
  bareHostname,
  EgressRefused,
  PrivateAllowance,
  type Resolver,
  systemResolver,
} from "./address_guard.ts";
import {
  DEFAULT_FETCH_LIMITS,
  type FetchLimits,
  guardedFetch,
  type GuardedFetchOptions,
} from "./guarded_fetch.ts";
import { mediaType, readableText } from "./readable.ts";
import type { SearchBackendChoice } from "./search.ts";

/** One request's audit record: metadata only, never bodies, queries or secrets. */
export interface EgressRecord {
  time: Timestamp;
  session: SessionId;
  agentGroup: string;
  /** `fetch` or `search`. */
  tool: string;
  method: string;
  /** The first URL's host (port kept when not the scheme's default); the backend's for a search. */
  host: string;
  /** The first URL's path without its query. */
  path: string;
  /** The upstream's status, or the broker's own for a refusal or failure. */
  status: number;
  allowed: boolean;
  /** Body bytes returned to the agent. */
  bytes: number;
  durationMs: number;
  /** The vault credential injected, by name, when one was. */
  credential?: string;
  /** Why the broker refused or failed, in one line. */
  reason?: string;
}

/** A header the vault sets on a request, overwriting whatever the agent sent. */
export interface InjectedHeader {
  /** The vault secret's name (for the audit record). */
  credential: string;
  header: string;
  value: string;
}

/** Where approved hosts and granted credentials come from. */
export interface EgressPolicy {
  /** True when `host` is approved for the agent group. */
  allowsHost(agentGroupId: string, host: string): boolean;
  /** Headers the vault injects into a request of the group to `url` (none when nothing is granted). */
  credentialsFor?(agentGroupId: string, url: URL): Promise<InjectedHeader[]>;
}

/** How the broker is set up. */
export interface EgressBrokerOptions {
  policy: EgressPolicy;
  /** Each agent group's `web_search` backend (none: `web_search` answers that none is configured). */
  search?: SearchBackendChoice;
  /** Exact `host:port` pairs that may be private (`serve --egress-allow-private`). */
  allowPrivate?: readonly string[];
  /** Name resolution (default: the system's DNS). */
  resolve?: Resolver;
  limits?: Partial<FetchLimits>;
  /** Per-session cap (default 2 rps, burst 20); `perSecond: 0` turns it off. */
  rateLimit?: RateLimit;
  /** Extra TLS trust anchors (PEM), for tests' local HTTPS servers. */
  caCerts?: string[];
  socketMode?: number;
  /** Called once per request. Must not throw. */
  onAudit?: (record: EgressRecord) => void;
}

/** The default per-session rate cap: a browsing agent's pace, not a crawler's. */
export const DEFAULT_EGRESS_RATE_LIMIT: RateLimit = { perSecond: 2, burst: 20 };

/** Headers the agent may not set: the transport's own, and identity claims the broker ignores anyway. */
const AGENT_HEADER_DENYLIST = new Set([
  "host",
  "connection",
  "content-length",
  "transfer-encoding",
  "keep-alive",
  "upgrade",
  "proxy-authorization",
  "te",
  "trailer",
]);

/** The session a request came in on (its socket), and what is kept per session. */
interface Session {
  id: SessionId;
  agentGroupId: string;
  /** Aborted when the session closes. */
  signal: AbortSignal;
  bucket?: TokenBucket;
}

/** The egress broker. */
export class EgressBroker {
  readonly #servers: SessionServers;
  readonly #options: EgressBrokerOptions;
  readonly #limits: FetchLimits;
  readonly #allowPrivate: PrivateAllowance;
  readonly #resolve: Resolver;

  constructor(options: EgressBrokerOptions) {
    this.#options = options;
    this.#limits = { ...DEFAULT_FETCH_LIMITS, ...options.limits };
    this.#allowPrivate = new PrivateAllowance(options.allowPrivate);
    this.#resolve = options.resolve ?? systemResolver;
    this.#servers = new SessionServers("egress", options.socketMode ?? DEFAULT_SOCKET_MODE);
  }

  /** Starts serving `session` of `agentGroupId` on `socketPath` (parent created 0700, stale socket replaced). */
  async openSession(session: SessionId, at: { agentGroupId: string; socketPath: string }): Promise<void> {
    const rate = this.#options.rateLimit ?? DEFAULT_EGRESS_RATE_LIMIT;
    const bucket = rate.perSecond > 0 ? new TokenBucket(rate) : undefined;
    await this.#servers.open(
      session,
      at.socketPath,
      (req, signal) => this.#handle(req, { id: session, agentGroupId: at.agentGroupId, signal, bucket }),
    );
  }

  /** Stops serving `session`: cancels its requests in flight and removes its socket. Unknown sessions are ignored. */
  async closeSession(session: SessionId): Promise<void> {
    await this.#servers.close(session);
  }

  /** Closes every session. */
  async close(): Promise<void> {
    await this.#servers.closeAll();
  }

  /** The operator's private exceptions, for the start-up log. */
  allowedPrivate(): string[] {
    return this.#allowPrivate.list();
  }

  async #handle(req: Request, session: Session): Promise<Response> {
    const started = performance.now();
    const audit: EgressRecord = {
      time: nowTimestamp(),
      session: session.id,
      agentGroup: session.agentGroupId,
      tool: "",
      method: req.method,
      host: "",
      path: "",
      status: 0,
      allowed: false,
      bytes: 0,
      durationMs: 0,
    };
    const finish = (status: number, body: unknown, reason?: string) => {
      const text = JSON.stringify(body);
      Object.assign(audit, { status: audit.status || status, bytes: audit.bytes, reason });
      audit.durationMs = performance.now() - started;
      this.#options.onAudit?.(audit);
      return new Response(text, { status, headers: { "content-type": "application/json" } });
    };
    const fail = (status: number, error: string) => {
      audit.status = status;
      return finish(status, { error }, error);
    };

    const path = URL.parse(req.url)?.pathname;
    if (req.method !== "POST" || (path !== EGRESS_FETCH_PATH && path !== EGRESS_SEARCH_PATH)) {
      return fail(404, `egress: no route ${req.method} ${path}`);
    }
    audit.tool = path === EGRESS_FETCH_PATH ? "fetch" : "search";
    // Every request costs a token, refused ones too, so a sandbox cannot flood the audit log.
    if (session.bucket !== undefined && !session.bucket.take()) {
      return fail(429, "egress: rate limit exceeded, slow down");
    }
    let input: unknown;
    try {
      input = await req.json();
    } catch {
      return fail(400, "egress: the request body is not JSON");
    }
    try {
      if (audit.tool === "search") {
        const result = await this.#search(SearchRequest.parse(input), session, audit);
        return finish(200, result);
      }
      const result = await this.#fetch(FetchRequest.parse(input), session, audit);
      return finish(200, result);
    } catch (error) {
      if (error instanceof EgressRefused) return fail(403, error.message);
      if (error instanceof Error && error.name === "ZodError") {
        return fail(400, `egress: bad request: ${error.message}`);
      }
      if (error instanceof DOMException && error.name === "TimeoutError") {
        return fail(504, `egress: no answer within ${this.#limits.timeoutMs / 1000} s`);
      }
      return fail(
        502,
        `egress: the request failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  async #fetch(input: ReturnType<typeof FetchRequest.parse>, session: Session, audit: EgressRecord) {
    const url = URL.parse(input.url);
    if (url === null) throw new EgressRefused("egress: url must be an absolute http:// or https:// URL");
    audit.method = input.method;
    audit.host = url.host;
    audit.path = url.pathname;
    const policy = this.#options.policy;
    const secrets: string[] = [];
    const agentHeaders = new Headers();
    for (const [name, value] of Object.entries(input.headers ?? {})) {
      if (!AGENT_HEADER_DENYLIST.has(name.toLowerCase())) agentHeaders.set(name, value);
    }
    const response = await guardedFetch(
      {
        url,
        method: input.method,
        body: input.body === undefined ? undefined : new TextEncoder().encode(input.body),
      },
      this.#fetchOptions(session, async (hop) => {
        const host = bareHostname(hop.hostname);
        if (!policy.allowsHost(session.agentGroupId, host)) {
          throw new EgressRefused(
            `egress: ${host} is not approved for this agent; ask for it with request_api_access`,
          );
        }
        const headers = new Headers(agentHeaders);
        // A grant's value overwrites whatever the agent sent for that header.
        for (const c of await policy.credentialsFor?.(session.agentGroupId, hop) ?? []) {
          headers.set(c.header, c.value);
          secrets.push(c.value);
          audit.credential = c.credential;
        }
        return headers;
      }),
    );
    audit.allowed = true;
    audit.status = response.status;
    const contentType = mediaType(response.headers.get("content-type"));
    // Scrubbed before and after conversion: an entity-encoded echo only shows once decoded.
    const text = redactText(readableText(redactSecrets(response.body, secrets), contentType), secrets);
    audit.bytes = new TextEncoder().encode(text).length;
    return {
      status: response.status,
      contentType,
      url: redactText(response.url.href, secrets),
      text,
      truncated: response.truncated,
    } satisfies FetchResult;
  }

  async #search(input: ReturnType<typeof SearchRequest.parse>, session: Session, audit: EgressRecord) {
    const backend = this.#options.search?.(session.agentGroupId);
    audit.method = "GET";
    if (backend === undefined) {
      throw new EgressRefused(
        "egress: no web_search backend is configured for this agent (serve --search-backend)",
      );
    }
    audit.host = backend.host;
    audit.path = backend.path;
    const result: SearchResult = await backend.search(input, (url, init) =>
      guardedFetch(
        { url, method: "GET" },
        {
          ...this.#fetchOptions(session, (hop) => {
            // The backend's host is reachable by web_search only, and web_search reaches nothing else.
            if (hop.host !== url.host) {
              throw new EgressRefused(`egress: the search backend redirected elsewhere`);
            }
            return new Headers(init.headers);
          }),
          // The operator named the backend: a self-hosted instance may be on a private address.
          allowPrivate: new PrivateAllowance([...this.#allowPrivate.list(), backend.hostPort]),
        },
      ));
    audit.allowed = true;
    audit.status = 200;
    audit.credential = backend.credential;
    audit.bytes = JSON.stringify(result).length;
    return result;
  }

  #fetchOptions(session: Session, prepareHop: GuardedFetchOptions["prepareHop"]): GuardedFetchOptions {
    return {
      resolve: this.#resolve,
      allowPrivate: this.#allowPrivate,
      limits: this.#limits,
      caCerts: this.#options.caCerts,
      signal: session.signal,
      prepareHop,
    };
  }
}

function redactText(text: string, secrets: readonly string[]): string {
  if (secrets.length === 0) return text;
  return new TextDecoder().decode(redactSecrets(new TextEncoder().encode(text), secrets));
}
