/**
 * Grants' pins: what a human was shown when asked to grant an agent a
 * server's tools (the offer, recorded with the `mcp_access` change), and, once
 * approved, the hash of each granted tool as shown (the pin).
 *
 * @module
 */
import type { ChangeId } from "../../contract/ids.ts";
import type { StateDb } from "../state/mod.ts";
import { OfferedTool } from "./offered_tools.ts";

/** The offers shown with `mcp_access` changes and the pins of approved ones. */
export class McpPins {
  readonly #state: StateDb;

  constructor(state: StateDb) {
    this.#state = state;
  }

  /** Records what the server offered when the change `changeId` was proposed. */
  recordOffer(changeId: ChangeId, server: string, tools: readonly OfferedTool[]): void {
    this.#state.db.run(
      "INSERT OR REPLACE INTO mcp_offers (change_id, server, tools) VALUES (?, ?, ?)",
      [changeId, server, JSON.stringify(tools)],
    );
  }

  /** The tools offered with change `changeId` (undefined when it recorded none). */
  offer(changeId: string): { server: string; tools: OfferedTool[] } | undefined {
    const row = this.#state.db.get<{ server: string; tools: string }>(
      "SELECT server, tools FROM mcp_offers WHERE change_id = ?",
      [changeId],
    );
    return row && { server: row.server, tools: OfferedTool.array().parse(JSON.parse(row.tools)) };
  }

  /**
   * Pins the granted tools of an approved change as they were shown: the
   * group's pins on that server are replaced (a tool not shown is not pinned,
   * so it stays withheld).
   */
  pin(agentGroupId: string, changeId: ChangeId, granted: readonly string[] | undefined): void {
    const shown = this.offer(changeId);
    if (!shown) throw new Error(`change ${changeId} recorded no offer of tools; propose it with mcp grant`);
    this.#state.db.run("DELETE FROM mcp_pins WHERE agent_group_id = ? AND server = ?", [
      agentGroupId,
      shown.server,
    ]);
    for (const tool of shown.tools) {
      if (granted && granted.length > 0 && !granted.includes(tool.name)) continue;
      this.#state.db.run(
        "INSERT INTO mcp_pins (agent_group_id, server, tool, hash, change_id) VALUES (?, ?, ?, ?, ?)",
        [agentGroupId, shown.server, tool.name, tool.hash, changeId],
      );
    }
  }

  /** The group's pin of each tool on `server` (the hash and the approving change), by tool name. */
  pins(agentGroupId: string, server: string): Map<string, { hash: string; changeId: string }> {
    return new Map(
      this.#state.db.all<{ tool: string; hash: string; change_id: string }>(
        "SELECT tool, hash, change_id FROM mcp_pins WHERE agent_group_id = ? AND server = ?",
        [agentGroupId, server],
      ).map((r) => [r.tool, { hash: r.hash, changeId: r.change_id }]),
    );
  }
}
