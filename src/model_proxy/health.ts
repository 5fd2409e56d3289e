/**
 * Provider health, judged host-side from what the proxy itself saw (never
 * from what the sandbox says): per upstream host, its calls, its last error
 * and how many calls in a row failed; and, for a failure only the operator
 * can fix (no credential, 401/403/404 upstream, a host no provider answers
 * for, an upstream that cannot be reached), the plain cause to tell the
 * conversation.
 *
 * @module
 */
import { PROVIDER_HOSTS } from "../../contract/sockets.ts";
import type { Timestamp } from "../../contract/time.ts";
import { PROVIDER_CREDENTIAL_ENV } from "./credentials.ts";
import type { ModelCallRecord } from "./handle.ts";

/** One upstream host's health, as `status` shows it. */
export interface ProviderHealthView {
  /** The host the sandboxes addressed (e.g. `api.anthropic.com`). */
  host: string;
  calls: number;
  errors: number;
  /** Calls in a row that failed; 0 after a success. */
  consecutiveFailures: number;
  /** The last call failed. */
  failing: boolean;
  /** The last failure, kept after a success so an operator can see what happened. */
  lastError: { time: Timestamp; status: number; cause: string } | null;
}

/** Hosts tracked at most: a sandbox choosing hosts must not grow the table without bound. */
const MAX_TRACKED_HOSTS = 32;

const KNOWN_PROVIDERS = Object.keys(PROVIDER_HOSTS).filter((p) => p !== "mock").join(", ");

/** `ANTHROPIC_API_KEY` for `api.anthropic.com` (with or without a port), else undefined. */
function credentialEnv(host: string): string | undefined {
  return PROVIDER_CREDENTIAL_ENV[host.replace(/:\d+$/, "")];
}

/**
 * The cause of a failed call when it is one the operator must fix, in words
 * for the person chatting; undefined for a success or a passing failure
 * (a rate cap, a 5xx, an oversized body).
 *
 * @example
 * ```ts ignore
 * operatorCause({ ...record, host: "api.anthropic.com", status: 401, allowed: true });
 * // "401 from api.anthropic.com — is ANTHROPIC_API_KEY set for the control plane?"
 * ```
 */
export function operatorCause(record: ModelCallRecord): string | undefined {
  const { host, status } = record;
  const env = credentialEnv(host);
  if (record.rateLimited) return undefined;
  if (!record.allowed) {
    if (env) return `no ${env} is set for the control plane, so ${host} cannot be called`;
    // The host is the sandbox's choice: it is not repeated to the person chatting.
    return `the agent called a model host the control plane does not know (providers: ${KNOWN_PROVIDERS})`;
  }
  if (record.unreachable) return `${host} could not be reached — is the host right and the network up?`;
  if (status === 401 || status === 403) {
    return `${status} from ${host} — ${
      env ? `is ${env} set for the control plane?` : `is the control plane's credential for it right?`
    }`;
  }
  if (status === 404) return `404 from ${host} — is the agent's model name right?`;
  return undefined;
}

/** Per-host health of the proxy's upstream calls. */
export class ProviderHealth {
  #hosts = new Map<string, ProviderHealthView>();

  /** Counts one finished call; returns its operator cause (see {@link operatorCause}) when it has one. */
  observe(record: ModelCallRecord): string | undefined {
    const cause = operatorCause(record);
    if (record.rateLimited) return cause;
    const failed = cause !== undefined || record.status >= 400;
    let entry = this.#hosts.get(record.host);
    if (!entry) {
      if (this.#hosts.size >= MAX_TRACKED_HOSTS) return cause;
      entry = {
        host: record.host,
        calls: 0,
        errors: 0,
        consecutiveFailures: 0,
        failing: false,
        lastError: null,
      };
      this.#hosts.set(record.host, entry);
    }
    entry.calls++;
    entry.failing = failed;
    if (failed) {
      entry.errors++;
      entry.consecutiveFailures++;
      entry.lastError = {
        time: record.time,
        status: record.status,
        cause: cause ?? `${record.status} from ${record.host}`,
      };
    } else {
      entry.consecutiveFailures = 0;
    }
    return cause;
  }

  /** Every tracked host, failing ones first. */
  snapshot(): ProviderHealthView[] {
    return [...this.#hosts.values()]
      .map((h) => ({ ...h, lastError: h.lastError && { ...h.lastError } }))
      .sort((a, b) => Number(b.failing) - Number(a.failing) || a.host.localeCompare(b.host));
  }
}
