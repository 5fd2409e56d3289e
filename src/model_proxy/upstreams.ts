/**
 * The allowlist: which hosts a sandbox may reach through the proxy, and
 * where each request is forwarded.
 *
 * @module
 */
import { MOCK_MODEL_HOST, PROVIDER_HOSTS } from "../../contract/sockets.ts";
import type { CredentialSource } from "./credentials.ts";

/** An upstream allowed on top of the providers with a configured credential. */
export interface UpstreamConfig {
  /** The host (or host:port) the sandbox addresses; matched case-insensitively. */
  host: string;
  /**
   * Where to forward instead of `https://<host>`, e.g. `http://127.0.0.1:11434`
   * for a local model server. The request path is appended.
   */
  baseUrl?: string;
}

/** Where an allowed request goes. */
export type Destination =
  | { kind: "mock" }
  | { kind: "remote"; host: string; url: URL; secret?: string };

const PROVIDERS: readonly string[] = [
  PROVIDER_HOSTS.anthropic,
  PROVIDER_HOSTS.openai,
  PROVIDER_HOSTS.openrouter,
];

/** Resolves request hosts against the allowlist. */
export class Allowlist {
  readonly #upstreams: ReadonlyMap<string, UpstreamConfig>;

  constructor(upstreams: readonly UpstreamConfig[], private readonly credentials: CredentialSource) {
    this.#upstreams = new Map(upstreams.map((u) => [u.host.toLowerCase(), u]));
  }

  /**
   * The destination of a request to `host` (lower-cased host or host:port)
   * with `pathAndQuery`, or undefined when the host is not allowed. An entry
   * for a bare host also matches that host with any port; the port is then
   * dropped and the scheme's own used.
   */
  resolve(host: string, pathAndQuery: string): Destination | undefined {
    const bare = host.replace(/:\d+$/, "");
    if (bare === MOCK_MODEL_HOST) return { kind: "mock" };
    const key = this.#upstreams.has(host) ? host : bare;
    const upstream = this.#upstreams.get(key);
    const secret = this.credentials(key);
    if (upstream === undefined && !(PROVIDERS.includes(key) && secret !== undefined)) return undefined;
    const base = (upstream?.baseUrl ?? `https://${key}`).replace(/\/+$/, "");
    return { kind: "remote", host: key, url: new URL(base + pathAndQuery), secret };
  }

  /** Every configured secret, for scrubbing responses. */
  secrets(): string[] {
    const hosts = new Set([...PROVIDERS, ...this.#upstreams.keys()]);
    return [...hosts].map((h) => this.credentials(h)).filter((s): s is string => !!s);
  }
}
