/**
 * The broker as the control plane opens it: over the approved-host store,
 * with its audit file in the state directory and the operator's search
 * backend.
 *
 * @module
 */
import { logger } from "../log/mod.ts";
import { parseAllowPrivate, type Resolver } from "./address_guard.ts";
import { EGRESS_AUDIT_FILE, EgressAuditFile } from "./audit_file.ts";
import { EgressBroker, type EgressPolicy } from "./broker.ts";
import type { HostGrants } from "./host_grants.ts";
import { chooseSearchBackends, type SecretReader } from "./search.ts";

/** The operator's egress settings (`serve --egress-allow-private`, `--search-backend`). */
export interface EgressSettings {
  /** `HOST:PORT[,…]` exceptions to the private-address refusal. */
  allowPrivate?: string;
  /** `duckduckgo`, `brave[:SECRET]` or `searxng=URL` (any `=URL` overrides the address). */
  searchBackend?: string;
  /** `GROUP=BACKEND` entries: an agent group's own backend instead of {@link searchBackend}. */
  searchBackendFor?: readonly string[];
  /** Name resolution (tests). */
  resolve?: Resolver;
  /** Extra TLS trust anchors, PEM (tests). */
  caCerts?: string[];
}

/** What the broker is built over besides the settings. */
export interface EgressSources {
  /** The hosts a human approved. */
  hosts: HostGrants;
  /** The vault's injected headers. */
  credentials?: EgressPolicy["credentialsFor"];
  /** The vault's secrets, for a keyed search backend. */
  secrets?: SecretReader;
}

/** The broker and its audit file; close both with {@link OpenEgress.close}. */
export interface OpenEgress {
  broker: EgressBroker;
  /** The hosts a human approved, per agent group. */
  hosts: HostGrants;
  /** The egress audit, which also records the vault's sets, rotations and removals. */
  audit: EgressAuditFile;
  close(): Promise<void>;
}

/**
 * Opens the broker with its audit file in `stateDir`. Bad settings throw a
 * one-line error naming the flag.
 */
export function openEgress(stateDir: string, options: EgressSettings & EgressSources): OpenEgress {
  const allowPrivate = parseAllowPrivate(options.allowPrivate ?? "");
  const search = chooseSearchBackends(
    { fallback: options.searchBackend, perGroup: options.searchBackendFor },
    options.secrets ?? (() => Promise.resolve(undefined)),
  );
  const { hosts } = options;
  const audit = EgressAuditFile.open(`${stateDir}/${EGRESS_AUDIT_FILE}`);
  const log = logger("egress");
  const broker = new EgressBroker({
    policy: { allowsHost: (group, host) => hosts.allows(group, host), credentialsFor: options.credentials },
    search,
    allowPrivate,
    resolve: options.resolve,
    caCerts: options.caCerts,
    onAudit: (record) => {
      log.info("{tool} {method} {host}{path} {status}", { ...record });
      audit.append(record).catch((err) =>
        log.error("egress audit write failed: {error}", { error: String(err) })
      );
    },
  });
  return {
    broker,
    hosts,
    audit,
    async close() {
      await broker.close();
      await audit.close();
    },
  };
}
