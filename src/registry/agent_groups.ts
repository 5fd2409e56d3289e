/**
 * The registry's agent groups: who each agent is (name, folder, provider,
 * model, persona) and what its sandbox runs with (tools, packages, mounts,
 * MCP grants), composed into the spec a sandbox launch takes.
 *
 * @module
 */
import { MemoryPartition, PersonaDocs } from "../../contract/mod.ts";
import type { Row } from "../../contract/sqlite/mod.ts";
import { ConflictError, NotFoundError, validate } from "../state/mod.ts";
import { asJson, type RegistryBase, unique } from "./core.ts";
import { composePersona } from "./persona.ts";
import { decodeAgentGroup } from "./rows.ts";
import {
  type AgentGroup,
  AgentGroupInput,
  type LaunchSpec,
  McpGrantInput,
  MountListInput,
  PackagesInput,
  type Session,
  ToolList,
} from "./schemas.ts";

/** Agent-group rows with their member count, which the default memory partition follows. */
const AGENT_GROUP_SELECT =
  "SELECT *, (SELECT count(*) FROM members m WHERE m.agent_group_id = agent_groups.id) AS member_count FROM agent_groups";

/** Adds the agent-group tables to a registry base. */
export function agentGroupTables<B extends RegistryBase>(Base: B) {
  abstract class AgentGroupTables extends Base {
    /**
     * Creates or updates an agent group. On update, omitted fields keep their
     * stored values; `enabledTools: null` (or `[]`) allows every tool. Throws
     * `ConflictError` when another agent already uses the folder.
     */
    putAgentGroup(input: AgentGroupInput): AgentGroup {
      const g = validate(AgentGroupInput, input, "agent group");
      return this.write(this.#groupWrite("put-agent-group", g.id), () => {
        const existing = this.#findAgentGroup(g.id);
        const folder = g.folder ?? existing?.folder ?? g.id;
        const owner = this.db.get("SELECT id FROM agent_groups WHERE folder = ? AND id <> ?", [folder, g.id]);
        if (owner) {
          throw new ConflictError(`folder ${JSON.stringify(folder)} already belongs to agent ${owner.id}`);
        }
        const docs = g.personaDocs ?? existing?.personaDocs ?? {};
        const tools = g.enabledTools === undefined
          ? existing?.enabledTools ?? null
          : normalizeTools(g.enabledTools);
        const now = this.now();
        this.db.run(
          `INSERT INTO agent_groups (id, name, folder, provider, model, persona_identity, persona_soul,
             persona_instructions, enabled_tools, created_at, updated_at)
           VALUES (:id, :name, :folder, :provider, :model, :identity, :soul, :instructions, :tools, :now, :now)
           ON CONFLICT (id) DO UPDATE SET name = excluded.name, folder = excluded.folder,
             provider = excluded.provider, model = excluded.model, persona_identity = excluded.persona_identity,
             persona_soul = excluded.persona_soul, persona_instructions = excluded.persona_instructions,
             enabled_tools = excluded.enabled_tools, updated_at = excluded.updated_at`,
          {
            id: g.id,
            name: g.name,
            folder,
            provider: g.provider === undefined ? existing?.provider ?? null : g.provider,
            model: g.model === undefined ? existing?.model ?? null : g.model,
            identity: docs.identity ?? "",
            soul: docs.soul ?? "",
            instructions: docs.instructions ?? "",
            tools: tools === null ? null : JSON.stringify(tools),
            now,
          },
        );
        return this.getAgentGroup(g.id);
      });
    }

    /** The agent group `id`. */
    getAgentGroup(id: string): AgentGroup {
      const group = this.#findAgentGroup(id);
      if (!group) throw new NotFoundError("agent group", id);
      return group;
    }

    /** True when agent group `id` exists. */
    hasAgentGroup(id: string): boolean {
      return this.#findAgentGroup(id) !== undefined;
    }

    /** Every agent group, by id. */
    listAgentGroups(): AgentGroup[] {
      return this.db.all(`${AGENT_GROUP_SELECT} ORDER BY id`).map(decodeAgentGroup);
    }

    /**
     * Deletes an agent group with its wirings, memberships, scoped roles,
     * destinations and sessions. Returns the ids of the deleted sessions, whose
     * sandboxes, queues and keys the caller must tear down.
     */
    deleteAgentGroup(id: string): Session["id"][] {
      return this.write(this.#groupWrite("delete-agent-group", id), () => {
        this.requireAgentGroup(id);
        const sessions = this.db.all("SELECT id FROM sessions WHERE agent_group_id = ? ORDER BY id", [id])
          .map((r) => r.id as Session["id"]);
        this.db.run("DELETE FROM roles WHERE scope = ?", [id]);
        this.db.run("DELETE FROM agent_groups WHERE id = ?", [id]);
        return sessions;
      });
    }

    /** Sets the persona documents named in `docs` ("" clears one); the others are kept. */
    setPersonaDocs(id: string, docs: PersonaDocs): AgentGroup {
      const d = validate(PersonaDocs, docs, "persona documents");
      return this.#updateAgentGroup("set-persona", id, {
        assignments:
          `persona_identity = coalesce(:identity, persona_identity), persona_soul = coalesce(:soul, persona_soul),
           persona_instructions = coalesce(:instructions, persona_instructions)`,
        params: { identity: d.identity ?? null, soul: d.soul ?? null, instructions: d.instructions ?? null },
      });
    }

    /** Replaces the tool allowlist; `null` or `[]` allows every tool. Duplicates are dropped. */
    setEnabledTools(id: string, tools: readonly string[] | null): AgentGroup {
      const list = normalizeTools(validate(ToolList.nullable(), tools, "enabled tools"));
      return this.#updateAgentGroup("set-enabled-tools", id, {
        assignments: "enabled_tools = :tools",
        params: { tools: list === null ? null : JSON.stringify(list) },
      });
    }

    /** Replaces the packages recorded for the agent's launch. */
    setPackages(id: string, packages: PackagesInput): AgentGroup {
      const p = validate(PackagesInput, packages, "packages");
      const value = { apt: unique(p.apt ?? []), npm: unique(p.npm ?? []) };
      return this.#updateAgentGroup("set-packages", id, {
        assignments: "packages = :value",
        params: { value: JSON.stringify(value) },
      });
    }

    /** Replaces the host directories bound into the agent's sandboxes, sorted by name. */
    setMounts(id: string, mounts: MountListInput): AgentGroup {
      const value = validate(MountListInput, mounts, "mounts").map((m) => ({
        name: m.name,
        source: m.source,
        readonly: m.readonly ?? true,
      })).sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
      return this.#updateAgentGroup("set-mounts", id, {
        assignments: "mounts = :value",
        params: { value: JSON.stringify(value) },
      });
    }

    /** Records (or replaces) the agent's grant on one MCP server; no tools, or `[]`, grants every tool. */
    setMcpGrant(id: string, grant: McpGrantInput): AgentGroup {
      const g = validate(McpGrantInput, grant, "MCP grant");
      return this.#updateAgentGroup("set-mcp-grant", id, {
        assignments: "mcp_grants = :value",
        params: () => {
          const grants = this.getAgentGroup(id).mcpGrants.filter((x) => x.server !== g.server);
          grants.push({ server: g.server, tools: g.tools && g.tools.length > 0 ? unique(g.tools) : null });
          grants.sort((a, b) => a.server < b.server ? -1 : a.server > b.server ? 1 : 0);
          return { value: JSON.stringify(grants) };
        },
      });
    }

    /**
     * Chooses whose `/memory` the agent's sessions see; `null` returns to the
     * default rule (`user` with more than one member, else `group`). Files
     * stay where they are: each partition keeps its own directory.
     */
    setMemoryPartition(id: string, partition: MemoryPartition | null): AgentGroup {
      const value = validate(MemoryPartition.nullable(), partition, "memory partition");
      return this.#updateAgentGroup("set-memory-partition", id, {
        assignments: "memory_partition = :value",
        params: { value },
      });
    }

    /** Everything a sandbox launch of agent `id` needs, persona composed. */
    getLaunchSpec(id: string): LaunchSpec {
      const g = this.getAgentGroup(id);
      return {
        agentGroupId: g.id,
        name: g.name,
        folder: g.folder,
        provider: g.provider,
        model: g.model,
        personaDocs: g.personaDocs,
        persona: composePersona(g.personaDocs),
        enabledTools: g.enabledTools,
        packages: g.packages,
        mounts: g.mounts,
        mcpGrants: g.mcpGrants,
        memoryPartition: g.memoryPartition,
      };
    }

    #findAgentGroup(id: string): AgentGroup | undefined {
      const row = this.db.get(`${AGENT_GROUP_SELECT} WHERE id = ?`, [id]);
      return row && decodeAgentGroup(row);
    }

    /** A write whose subject is agent group `id` as a whole. */
    #groupWrite(action: "put-agent-group" | "delete-agent-group" | UpdateAction, id: string) {
      return {
        action,
        subject: `agent group ${id}`,
        agentGroupId: id,
        read: () => asJson(this.db.get(`${AGENT_GROUP_SELECT} WHERE id = ?`, [id]), decodeAgentGroup),
      };
    }

    /** Sets columns of agent group `id` (`params` may be computed inside the write's transaction). */
    #updateAgentGroup(
      action: UpdateAction,
      id: string,
      update: { assignments: string; params: Row | (() => Row) },
    ): AgentGroup {
      return this.write(this.#groupWrite(action, id), () => {
        this.requireAgentGroup(id);
        const params = typeof update.params === "function" ? update.params() : update.params;
        this.db.run(`UPDATE agent_groups SET ${update.assignments}, updated_at = :now WHERE id = :id`, {
          ...params,
          now: this.now(),
          id,
        });
        return this.getAgentGroup(id);
      });
    }
  }
  return AgentGroupTables;
}

type UpdateAction =
  | "set-persona"
  | "set-enabled-tools"
  | "set-packages"
  | "set-mounts"
  | "set-mcp-grant"
  | "set-memory-partition";

/** An allowlist in stored form: duplicates dropped in order; none or empty means every tool (null). */
function normalizeTools(tools: readonly string[] | null): string[] | null {
  return tools === null || tools.length === 0 ? null : unique(tools);
}
