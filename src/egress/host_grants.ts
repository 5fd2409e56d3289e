/**
 * Which hosts each agent group may fetch from: written only by the gateway's
 * applier for an approved `wiring` change with `egress` hosts, read by the
 * broker on every request (so an approval is live at once, no respawn).
 *
 * @module
 */
import type { ChangeId } from "../../contract/ids.ts";
import type { StateDb } from "../state/mod.ts";

/** The approved egress hosts of every agent group, in the state database. */
export class HostGrants {
  readonly #state: StateDb;

  constructor(state: StateDb) {
    this.#state = state;
  }

  /** Approves `hosts` (bare, lower-case names or IP literals) for `agentGroupId`. Idempotent. */
  allow(agentGroupId: string, hosts: readonly string[], changeId: ChangeId): void {
    for (const host of hosts) {
      this.#state.db.run(
        "INSERT INTO egress_hosts (agent_group_id, host, change_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        [agentGroupId, host.toLowerCase(), changeId],
      );
    }
  }

  /** Takes `host` away from `agentGroupId`; false when it was not approved. */
  revoke(agentGroupId: string, host: string): boolean {
    return this.#state.db.run(
      "DELETE FROM egress_hosts WHERE agent_group_id = ? AND host = ?",
      [agentGroupId, host.toLowerCase()],
    ) === 1;
  }

  /** True when `host` (the URL's host name, IPv6 without brackets) is approved for `agentGroupId`. */
  allows(agentGroupId: string, host: string): boolean {
    return this.#state.db.get(
      "SELECT 1 AS ok FROM egress_hosts WHERE agent_group_id = ? AND host = ?",
      [agentGroupId, host.toLowerCase()],
    ) !== undefined;
  }

  /** The group's approved hosts, sorted. */
  list(agentGroupId: string): string[] {
    return this.#state.db.all<{ host: string }>(
      "SELECT host FROM egress_hosts WHERE agent_group_id = ? ORDER BY host",
      [agentGroupId],
    ).map((r) => r.host);
  }
}
