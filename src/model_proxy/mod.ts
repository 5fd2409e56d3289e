/**
 * The host's model proxy: the sandbox's only way to a model. One unix socket
 * per session; the request's Host picks an allowlisted upstream; sandbox
 * credentials are dropped and the host's injected; responses are stripped of
 * credential headers and scrubbed of secrets; every request is rate capped,
 * audited and counted. `MOCK_MODEL_HOST` is an offline mock served in-process.
 *
 * @example
 * ```ts
 * import { MODEL_SOCKET_NAME } from "../../contract/sockets.ts";
 * import { newSessionId } from "../../contract/ids.ts";
 *
 * const socketDir = await Deno.makeTempDir();
 * const proxy = new ModelProxy({ onAudit: (r) => console.log("model call", r.host, r.status) });
 * await proxy.openSession(newSessionId(), `${socketDir}/${MODEL_SOCKET_NAME}`);
 * // ... the sandbox sends its model calls to that socket ...
 * await proxy.close();
 * await Deno.remove(socketDir, { recursive: true });
 * ```
 *
 * @module
 */
export { ModelProxy, type ModelProxyOptions } from "./proxy.ts";
export { DEFAULT_LIMITS, type ModelCallRecord, type ModelProxyLimits } from "./handle.ts";
export {
  ANTHROPIC_VERSION,
  type CredentialSource,
  envCredentials,
  PROVIDER_CREDENTIAL_ENV,
} from "./credentials.ts";
export { operatorCause, type ProviderHealthView } from "./health.ts";
export type { UpstreamConfig } from "./upstreams.ts";
export { DEFAULT_RATE_LIMIT, type RateLimit, TokenBucket } from "./token_bucket.ts";
export { MODEL_CALL_DURATION_BUCKETS, MODEL_METRIC_NAMES, type ModelCallMetricsSnapshot } from "./metrics.ts";
export type { ModelUsage, UsageSink } from "./usage.ts";
export { REDACTED, redactSecrets } from "./harden.ts";
export { DEFAULT_SOCKET_MODE } from "../unix_socket/mod.ts";
export { MOCK_TOOL_CALL_ID, mockUpstream } from "./mock/mod.ts";
