/**
 * Appliers: what an approved change does, per kind. Each is idempotent (set,
 * replace or union semantics, deterministic ids), and the whole apply runs in
 * one state-database transaction, so a crash mid-apply leaves nothing half done
 * and the gateway can simply apply again.
 *
 * @module
 */
import {
  BudgetPayload,
  type ChangeKind,
  type ChangeRequest,
  CreateAgentPayload,
  createdAgentTools,
  EnabledToolsPayload,
  type JsonValue,
  McpAccessPayload,
  McpRegisterPayload,
  mountName,
  MountsPayload,
  PackagesPayload,
  PermissionsPayload,
  PersonaPayload,
  VaultGrantPayload,
  WiringPayload,
} from "../../contract/mod.ts";
import type { AgentGroupId, ChangeId } from "../../contract/ids.ts";
import { type MountPolicy, resolveMountSource } from "../mounts/mod.ts";
import type { Registry } from "../registry/mod.ts";
import { checkCreateAgentTarget } from "./create_agent_target.ts";

/** Where approvals outside the registry go (each absent: that subsystem is not on this host). */
export interface ApplySinks {
  /** The egress broker's approved hosts. */
  egressHosts?: { allow(agentGroupId: string, hosts: readonly string[], changeId: ChangeId): void };
  /** The vault's grants. */
  vault?: { grant(agentGroupId: string, grant: VaultGrantPayload, changeId: ChangeId): void };
  /** The MCP catalog (`mcp_register`). */
  mcpCatalog?: { put(config: McpRegisterPayload, changeId: ChangeId): void };
  /** The MCP pins: an approved `mcp_access` pins each granted tool as the human was shown it. */
  mcpPins?: { pin(agentGroupId: string, changeId: ChangeId, granted: readonly string[] | undefined): void };
  /** The daily budgets. */
  budgets?: { set(agentGroupId: string, budget: BudgetPayload, changeId: ChangeId): void };
  /** Where approved mounts may come from (each is resolved again when applied). */
  mounts?: MountPolicy;
}

type Apply = (registry: Registry, req: ChangeRequest, sinks: ApplySinks) => void;

const applyPersona: Apply = (registry, req) => {
  const { persona, ...docs } = PersonaPayload.parse(req.after);
  registry.setPersonaDocs(
    req.agentGroupId,
    persona === undefined ? docs : { instructions: persona, ...docs },
  );
};

const applyEnabledTools: Apply = (registry, req) => {
  const payload = EnabledToolsPayload.parse(req.after);
  if (Array.isArray(payload)) return void registry.setEnabledTools(req.agentGroupId, payload);
  if ("tools" in payload) return void registry.setEnabledTools(req.agentGroupId, payload.tools);
  const current = registry.getAgentGroup(req.agentGroupId).enabledTools;
  // An unrestricted agent already has every tool: adding to "all" leaves it at "all".
  if (current === null) return;
  registry.setEnabledTools(req.agentGroupId, [...new Set([...current, ...payload.add])]);
};

const applyPackages: Apply = (registry, req) => {
  const payload = PackagesPayload.parse(req.after);
  const wanted = Array.isArray(payload)
    ? { apt: payload, npm: [] }
    : { apt: payload.apt ?? [], npm: payload.npm ?? [] };
  const current = registry.getAgentGroup(req.agentGroupId).packages;
  const union = (a: string[], b: string[]) => [...new Set([...a, ...b])].sort();
  registry.setPackages(req.agentGroupId, {
    apt: union(current.apt, wanted.apt),
    npm: union(current.npm, wanted.npm),
  });
};

/**
 * Binds and removals by name; each bound directory is resolved again here (a
 * symlink swapped in since the submit is refused), and stored as named: the
 * launch resolves it once more.
 */
const applyMounts: Apply = (registry, req, { mounts: policy }) => {
  if (!policy) throw new Error("no mount policy on this host");
  const byName = new Map(registry.getAgentGroup(req.agentGroupId).mounts.map((m) => [m.name, m]));
  for (const m of MountsPayload.parse(req.after)) {
    if ("remove" in m) {
      byName.delete(m.name);
      continue;
    }
    resolveMountSource(m.source, policy);
    const name = mountName(m);
    byName.set(name, { name, source: m.source, readonly: m.readonly ?? true });
  }
  registry.setMounts(req.agentGroupId, [...byName.values()]);
};

const applyWiring: Apply = (registry, req, { egressHosts }) => {
  const w = WiringPayload.parse(req.after);
  if (w.egress?.length) {
    if (!egressHosts) throw new Error("no egress broker is enabled on this host");
    egressHosts.allow(req.agentGroupId, w.egress, req.id);
  }
  const existing = w.wiringId !== undefined
    ? registry.getWiring(w.wiringId)
    : w.messagingGroupId !== undefined
    ? registry.listWiringsForMessagingGroup(w.messagingGroupId).find((x) =>
      x.agentGroupId === req.agentGroupId
    )
    : undefined;
  const messagingGroupId = existing?.messagingGroupId ?? w.messagingGroupId;
  if (messagingGroupId === undefined) return;
  const routingChanged = [
    "engage",
    "pattern",
    "senderScope",
    "ignoredMessagePolicy",
    "sessionMode",
    "priority",
  ]
    .some((k) => k in w);
  if (routingChanged || !existing) {
    registry.putWiring({
      id: existing?.id,
      messagingGroupId,
      agentGroupId: req.agentGroupId,
      engageMode: w.engage ?? existing?.engageMode ?? "mention",
      engagePattern: w.pattern ?? existing?.engagePattern ?? "",
      senderScope: w.senderScope ?? existing?.senderScope,
      ignoredMessagePolicy: w.ignoredMessagePolicy ?? existing?.ignoredMessagePolicy,
      sessionMode: w.sessionMode ?? existing?.sessionMode,
      priority: w.priority ?? existing?.priority,
    });
  }
  if (w.unknownSenderPolicy !== undefined) {
    registry.setUnknownSenderPolicy(messagingGroupId, w.unknownSenderPolicy);
  }
};

const applyPermissions: Apply = (registry, req) => {
  const p = PermissionsPayload.parse(req.after);
  const group = req.agentGroupId;
  for (const user of p.addMembers ?? []) registry.addMember(user, group);
  for (const user of p.removeMembers ?? []) registry.removeMember(user, group);
  for (const g of p.grantRoles ?? []) {
    registry.grantRole({ userId: g.userId, role: g.role, agentGroupId: group });
  }
  for (const g of p.revokeRoles ?? []) {
    registry.revokeRole({ userId: g.userId, role: g.role, agentGroupId: group });
  }
  for (const d of p.addDestinations ?? []) registry.addDestination({ agentGroupId: group, ...d });
  if (p.memoryPartition !== undefined) registry.setMemoryPartition(group, p.memoryPartition);
};

const applyCreateAgent: Apply = (registry, req) => {
  const p = CreateAgentPayload.parse(req.after);
  // Not whether it exists: applying again after a crash finds the agent the first try made.
  const target = checkCreateAgentTarget(req);
  if (!target.ok) throw new Error(target.reason);
  const id = target.id;
  registry.putAgentGroup({
    id,
    name: p.name,
    folder: p.folder,
    provider: p.provider ?? null,
    model: p.model ?? null,
    personaDocs: p.persona ?? {},
    enabledTools: createdAgentTools(p),
  });
  for (const user of p.members ?? []) registry.addMember(user, id);
  (p.wirings ?? []).forEach((w, i) =>
    registry.putWiring({
      // Derived from the change id, so applying twice replaces rather than duplicates.
      id: `wr_${req.id}_${i}`,
      messagingGroupId: w.messagingGroupId,
      agentGroupId: id,
      engageMode: w.engage,
      engagePattern: w.pattern ?? "",
      sessionMode: w.sessionMode,
    })
  );
};

const applyMcpAccess: Apply = (registry, req, { mcpPins }) => {
  const grant = McpAccessPayload.parse(req.after);
  registry.setMcpGrant(req.agentGroupId, grant);
  mcpPins?.pin(req.agentGroupId, req.id, grant.tools);
};

const applyMcpRegister: Apply = (_registry, req, { mcpCatalog }) => {
  if (!mcpCatalog) throw new Error("no MCP catalog on this host");
  mcpCatalog.put(McpRegisterPayload.parse(req.after), req.id);
};

const applyVaultGrant: Apply = (_registry, req, { vault }) => {
  if (!vault) throw new Error("no vault on this host");
  vault.grant(req.agentGroupId, VaultGrantPayload.parse(req.after), req.id);
};

const applyBudget: Apply = (_registry, req, { budgets }) => {
  if (!budgets) throw new Error("no budgets on this host");
  budgets.set(req.agentGroupId, BudgetPayload.parse(req.after), req.id);
};

// Applied again after a crash, the group is already gone: nothing to do.
const applyDeleteAgent: Apply = (registry, req) => {
  if (registry.hasAgentGroup(req.agentGroupId)) registry.deleteAgentGroup(req.agentGroupId);
};

const APPLIERS: Record<ChangeKind, Apply | undefined> = {
  persona: applyPersona,
  enabled_tools: applyEnabledTools,
  packages: applyPackages,
  mounts: applyMounts,
  wiring: applyWiring,
  permissions: applyPermissions,
  create_agent: applyCreateAgent,
  mcp_access: applyMcpAccess,
  mcp_register: applyMcpRegister,
  vault_grant: applyVaultGrant,
  budget: applyBudget,
  delete_agent: applyDeleteAgent,
};

const CHANGE_ACTOR = "change ";

/** Who a change's registry writes are made as (`change <id>`). */
export function changeActor(changeId: ChangeId): string {
  return `${CHANGE_ACTOR}${changeId}`;
}

/** The change a registry write was applied for, when its writer is {@link changeActor}'s. */
export function changeOfActor(by: string): ChangeId | undefined {
  return by.startsWith(CHANGE_ACTOR) ? by.slice(CHANGE_ACTOR.length) as ChangeId : undefined;
}

/**
 * Builds the gateway's apply function over the registry (and the sinks, in
 * the same database), atomic per change; its registry writes are made as
 * `change <id>`.
 */
export function registryApplier(registry: Registry, sinks: ApplySinks = {}): (req: ChangeRequest) => void {
  return (req) => {
    const apply = APPLIERS[req.kind];
    if (!apply) throw new Error(`no applier for ${req.kind} changes on this host`);
    const asChange = registry.as(changeActor(req.id));
    asChange.transaction(() => apply(asChange, req, sinks));
  };
}

/** Kinds whose effect reaches a running sandbox's launch spec: their group's sandboxes restart after apply. */
export const RESPAWN_KINDS: ReadonlySet<ChangeKind> = new Set([
  "persona",
  "enabled_tools",
  "packages",
  "mounts",
  "permissions",
  // Also what lets an agent keep a no-grants MCP listing for its life (`McpToolList` in contract/mcp.ts).
  "mcp_access",
]);

/** The current state a change of `kind` would replace, for its `before`. */
export function captureBefore(registry: Registry, kind: ChangeKind, group: AgentGroupId): JsonValue | null {
  if (kind === "create_agent" || kind === "mcp_register" || !registry.hasAgentGroup(group)) return null;
  const g = registry.getAgentGroup(group);
  switch (kind) {
    case "persona":
      return g.personaDocs;
    case "enabled_tools":
      return g.enabledTools;
    case "packages":
      return g.packages;
    case "mounts":
      return g.mounts;
    case "mcp_access":
      return g.mcpGrants;
    // The vault's grants are not the registry's; the audit line of the apply records this one.
    case "vault_grant":
    case "budget":
      return null;
    case "delete_agent":
      return {
        name: g.name,
        sessions: registry.listSessions(group).length,
        members: registry.listMembers(group),
        wirings: registry.listWirings().filter((w) => w.agentGroupId === group).length,
      };
    case "wiring":
      return registry.listWirings().filter((w) => w.agentGroupId === group) as unknown as JsonValue;
    case "permissions":
      return {
        members: registry.listMembers(group),
        roles: registry.listRoles(group),
        destinations: registry.listDestinations(group),
        memoryPartition: g.memoryPartition,
      } as unknown as JsonValue;
  }
}
