/**
 * Which MCP tools an agent may use right now: those of its grants whose
 * server offers them with the description and schema a human approved (the
 * pin). A tool the server now offers differently is withheld until a human
 * approves the new version (`mcp grant` again); the first time a change is
 * seen, an audit line records it against the approving change.
 *
 * @module
 */
import type { ChangeId } from "../../contract/ids.ts";
import type { McpConnections } from "./connections.ts";
import type { OfferedTool } from "./offered_tools.ts";

/** A granted tool's state: `live` (offered as approved), `withheld` (changed since), `gone` (not offered). */
export type GrantedToolState = "live" | "withheld" | "gone";

/** One granted tool, as the agent would get it. */
export interface GrantedTool {
  server: string;
  tool: string;
  state: GrantedToolState;
  /** What the server offers now (absent when gone). */
  offered?: OfferedTool;
}

/** A server that could not be asked: its tools are neither listed nor callable. */
export interface UnreachableServer {
  server: string;
  error: string;
}

/** What the resolver reads. */
export interface GrantedToolsDeps {
  grants(agentGroupId: string): readonly { server: string }[];
  pins(agentGroupId: string, server: string): Map<string, { hash: string; changeId: string }>;
  connections: Pick<McpConnections, "listTools">;
  /** Told once per newly seen changed tool (the plane: an audit line). */
  onWithheld(
    event: { agentGroupId: string; server: string; tool: string; changeId: ChangeId },
  ): Promise<void>;
}

/** A granted tool withheld at its last look. */
export interface WithheldTool {
  agentGroupId: string;
  server: string;
  tool: string;
}

/** Resolves an agent's granted tools against what their servers offer now. */
export class GrantedTools {
  readonly #deps: GrantedToolsDeps;
  readonly #reported = new Set<string>();
  /** What each resolve last saw withheld, by group and server (`status` reads it without asking servers). */
  readonly #withheld = new Map<string, WithheldTool[]>();

  constructor(deps: GrantedToolsDeps) {
    this.#deps = deps;
  }

  /**
   * Every pinned tool of the agent's grants (only `server`'s when given),
   * with its state; servers that failed are listed apart.
   */
  async resolve(
    agentGroupId: string,
    only: { server?: string } = {},
  ): Promise<{ tools: GrantedTool[]; unreachable: UnreachableServer[]; grantedServers: number }> {
    const tools: GrantedTool[] = [];
    const unreachable: UnreachableServer[] = [];
    const grants = this.#deps.grants(agentGroupId);
    if (only.server === undefined) {
      // A grant taken away takes what was seen withheld of it along.
      for (const key of this.#withheld.keys()) {
        const [group, server] = key.split("\0");
        if (group === agentGroupId && !grants.some((g) => g.server === server)) this.#withheld.delete(key);
      }
    }
    for (const { server } of grants) {
      if (only.server !== undefined && server !== only.server) continue;
      const pins = this.#deps.pins(agentGroupId, server);
      if (pins.size === 0) {
        this.#withheld.delete(`${agentGroupId}\0${server}`);
        continue;
      }
      let offered: OfferedTool[];
      try {
        offered = await this.#deps.connections.listTools(server);
      } catch (err) {
        // Not looked at: what was seen withheld of it stays so.
        unreachable.push({ server, error: (err as Error).message });
        continue;
      }
      this.#withheld.delete(`${agentGroupId}\0${server}`);
      for (const [tool, pin] of [...pins].sort(([a], [b]) => a.localeCompare(b))) {
        const now = offered.find((t) => t.name === tool);
        const state: GrantedToolState = !now ? "gone" : now.hash === pin.hash ? "live" : "withheld";
        if (state === "withheld") await this.#report(agentGroupId, server, tool, pin.changeId, now!.hash);
        tools.push({ server, tool, state, offered: now });
      }
      const withheld = tools.filter((t) => t.server === server && t.state === "withheld");
      if (withheld.length) {
        this.#withheld.set(
          `${agentGroupId}\0${server}`,
          withheld.map((t) => ({ agentGroupId, server, tool: t.tool })),
        );
      }
    }
    return { tools, unreachable, grantedServers: grants.length };
  }

  /**
   * The tools seen withheld when their group's grants were last resolved
   * (by a listing, a call, `mcp grants`), until a later look sees them as
   * approved again or no longer granted. Asks no server.
   */
  withheld(): WithheldTool[] {
    return [...this.#withheld.values()].flat();
  }

  async #report(agentGroupId: string, server: string, tool: string, changeId: string, hash: string) {
    const key = `${agentGroupId}\0${server}\0${tool}\0${hash}`;
    if (this.#reported.has(key)) return;
    this.#reported.add(key);
    await this.#deps.onWithheld({ agentGroupId, server, tool, changeId: changeId as ChangeId });
  }
}
