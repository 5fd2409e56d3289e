/**
 * The host's model proxy: one HTTP/1.1 listener per session on a unix socket
 * bind-mounted into that session's sandbox. The socket a request arrives on
 * is the caller's identity, so rate caps and audit records are per session
 * and no header is trusted to say who is calling.
 *
 * @module
 */
import type { SessionId } from "../../contract/ids.ts";
import { type CredentialSource, envCredentials } from "./credentials.ts";
import {
  DEFAULT_LIMITS,
  handleModelRequest,
  type ModelCallRecord,
  type ModelProxyLimits,
  type ProxyConfig,
} from "./handle.ts";
import { ProviderHealth, type ProviderHealthView } from "./health.ts";
import { ModelCallMetrics, type ModelCallMetricsSnapshot } from "./metrics.ts";
import { DEFAULT_RATE_LIMIT, type RateLimit, TokenBucket } from "./token_bucket.ts";
import { DEFAULT_SOCKET_MODE, SessionServers } from "../unix_socket/mod.ts";
import { Allowlist, type UpstreamConfig } from "./upstreams.ts";
import type { UsageSink } from "./usage.ts";

/** How the proxy is set up; every field has a default. */
export interface ModelProxyOptions {
  /** Where provider secrets come from; by default the process environment. */
  credentials?: CredentialSource;
  /** Hosts allowed besides providers with a credential and the mock, with optional local base URLs. */
  upstreams?: readonly UpstreamConfig[];
  /** Per-session cap; default 50 rps with a burst of 100; `perSecond: 0` turns it off. */
  rateLimit?: RateLimit;
  /** Body size limits; see {@link DEFAULT_LIMITS}. */
  limits?: Partial<ModelProxyLimits>;
  /** Mode of each session's socket file (default 0o666, so the sandbox's uid can connect). */
  socketMode?: number;
  /** Called once per request when it finishes (for a stream, when the stream ends). Must not throw. */
  onAudit?: (record: ModelCallRecord) => void;
  /** Where each call's token usage, read from the upstream's own usage fields, goes (absent: not counted). */
  usage?: UsageSink;
  /**
   * Called when a call fails for a reason the operator must fix (see
   * `operatorCause`), with that cause in plain words. Must not throw.
   */
  onOperatorFailure?: (session: SessionId, cause: string) => void;
}

/** The model proxy. */
export class ModelProxy {
  readonly #servers: SessionServers;
  readonly #metrics = new ModelCallMetrics();
  readonly #health = new ProviderHealth();
  readonly #config: ProxyConfig;
  readonly #rateLimit: RateLimit;

  constructor(options: ModelProxyOptions = {}) {
    this.#rateLimit = options.rateLimit ?? DEFAULT_RATE_LIMIT;
    this.#servers = new SessionServers("model-proxy", options.socketMode ?? DEFAULT_SOCKET_MODE);
    this.#config = {
      allowlist: new Allowlist(options.upstreams ?? [], options.credentials ?? envCredentials()),
      limits: { ...DEFAULT_LIMITS, ...options.limits },
      usage: options.usage,
      record: (record) => {
        this.#metrics.observe(record);
        const cause = this.#health.observe(record);
        options.onAudit?.(record);
        if (cause !== undefined) options.onOperatorFailure?.(record.session, cause);
      },
    };
  }

  /**
   * Starts serving `session` on `socketPath`: creates the parent directory
   * 0700 when missing, replaces a stale socket, and sets the socket's mode.
   */
  async openSession(session: SessionId, socketPath: string): Promise<void> {
    const bucket = this.#rateLimit.perSecond > 0 ? new TokenBucket(this.#rateLimit) : undefined;
    await this.#servers.open(
      session,
      socketPath,
      (req, signal) => handleModelRequest(req, { id: session, bucket, signal }, this.#config),
    );
  }

  /** Stops serving `session`: cancels its upstream calls and removes its socket. Unknown sessions are ignored. */
  async closeSession(session: SessionId): Promise<void> {
    await this.#servers.close(session);
  }

  /** Closes every session. */
  async close(): Promise<void> {
    await this.#servers.closeAll();
  }

  /** Per upstream host: calls, errors, the last error and whether it is failing now. */
  health(): ProviderHealthView[] {
    return this.#health.snapshot();
  }

  /** The call and error totals. */
  metrics(): ModelCallMetricsSnapshot {
    return this.#metrics.snapshot();
  }

  /** Exposition lines for `/metrics` (calls and errors by host and status, latency by host). */
  render(): string[] {
    return this.#metrics.render();
  }
}
