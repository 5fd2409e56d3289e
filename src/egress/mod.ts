/**
 * The egress broker: the sealed agent's only way to the web. One unix socket
 * per session (`egress.sock`, the socket is the identity); deny by default
 * (hosts a human approved per agent group); SSRF-proof by construction (names
 * resolved and every address checked host-side, the connection made to the
 * checked address); caps on time, size, redirects and rate; HTML turned into
 * readable text; vault credentials injected host-side and scrubbed from what
 * comes back; an audit record per request.
 *
 * @example
 * ```ts ignore
 * const broker = new EgressBroker({ policy: { allowsHost: (g, h) => grants.allows(g, h) } });
 * await broker.openSession(sessionId, { agentGroupId, socketPath: `${socketDir}/${EGRESS_SOCKET_NAME}` });
 * ```
 *
 * @module
 */
export {
  checkTarget,
  EgressRefused,
  isPublicAddress,
  parseAllowPrivate,
  PrivateAllowance,
  type Resolver,
  systemResolver,
} from "./address_guard.ts";
export {
  DEFAULT_EGRESS_RATE_LIMIT,
  EgressBroker,
  type EgressBrokerOptions,
  type EgressPolicy,
  type EgressRecord,
  type InjectedHeader,
} from "./broker.ts";
export { connectChecked, DEFAULT_FETCH_LIMITS, type FetchLimits, guardedFetch } from "./guarded_fetch.ts";
export { HostGrants } from "./host_grants.ts";
export { htmlToMarkdown } from "./readable.ts";
export {
  chooseSearchBackends,
  parseSearchBackend,
  type SearchBackend,
  type SearchBackendChoice,
  type SecretReader,
} from "./search.ts";
export {
  EGRESS_AUDIT_FILE,
  EgressAuditFile,
  type EgressAuditLine,
  type EgressRevocation,
  type VaultEvent,
} from "./audit_file.ts";
export { type EgressSettings, type OpenEgress, openEgress } from "./open.ts";
