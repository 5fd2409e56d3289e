/**
 * The host's MCP server catalog: the servers a human approved with an
 * `mcp_register` change, in the state database. Registering grants no agent
 * anything; `mcp_access` does, per tool.
 *
 * @module
 */
import { McpRegisterPayload } from "../../contract/changes.ts";
import type { ChangeId } from "../../contract/ids.ts";
import { nowTimestamp } from "../../contract/time.ts";
import type { StateDb } from "../state/mod.ts";

/** A catalogued server: its approved configuration and when. */
export interface McpServerEntry {
  config: McpRegisterPayload;
  changeId: string;
  registeredAt: string;
}

/** The catalog of MCP servers. */
export class McpCatalog {
  readonly #state: StateDb;

  constructor(state: StateDb) {
    this.#state = state;
  }

  /** Adds or replaces a server (the applier of an approved `mcp_register`). */
  put(config: McpRegisterPayload, changeId: ChangeId): void {
    this.#state.db.run(
      `INSERT INTO mcp_servers (name, config, change_id, registered_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET config = excluded.config, change_id = excluded.change_id,
         registered_at = excluded.registered_at`,
      [config.name, JSON.stringify(config), changeId, nowTimestamp()],
    );
  }

  /** Removes a server; false when it was not catalogued. Its grants stay recorded but reach nothing. */
  remove(name: string): boolean {
    return this.#state.db.run("DELETE FROM mcp_servers WHERE name = ?", [name]) === 1;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  get(name: string): McpServerEntry | undefined {
    const row = this.#state.db.get<{ config: string; change_id: string; registered_at: string }>(
      "SELECT config, change_id, registered_at FROM mcp_servers WHERE name = ?",
      [name],
    );
    return row && entry(row);
  }

  /** Every server, by name. */
  list(): McpServerEntry[] {
    return this.#state.db.all<{ config: string; change_id: string; registered_at: string }>(
      "SELECT config, change_id, registered_at FROM mcp_servers ORDER BY name",
    ).map(entry);
  }
}

function entry(row: { config: string; change_id: string; registered_at: string }): McpServerEntry {
  return {
    config: McpRegisterPayload.parse(JSON.parse(row.config)),
    changeId: row.change_id,
    registeredAt: row.registered_at,
  };
}
