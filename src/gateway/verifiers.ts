/**
 * The verifier chain, in order. Each verifier is deterministic and may only
 * reject or ask for a human; the final one asks for a human on every change,
 * so nothing applies without a person (no model is consulted anywhere).
 *
 * @module
 */
import {
  CHANGE_PAYLOADS,
  type ChangeRequest,
  CreateAgentPayload,
  EnabledToolsPayload,
  McpAccessPayload,
  McpRegisterPayload,
  MOUNT_NAME,
  mountName,
  MountsPayload,
  PermissionsPayload,
  ToolName,
  VaultGrantPayload,
  type Verifier,
  type VerifierResult,
  WiringPayload,
} from "../../contract/mod.ts";
import { MountPathError, type MountPolicy, resolveMountSource } from "../mounts/mod.ts";
import { ProviderName, type Registry } from "../registry/mod.ts";
import { checkCreateAgentTarget } from "./create_agent_target.ts";

const pass = (reason = "ok"): VerifierResult => ({ verdict: "pass", reason });
const reject = (reason: string): VerifierResult => ({ verdict: "reject", reason });
const human = (reason: string): VerifierResult => ({ verdict: "require-human", reason });

/** What the `mcp` verifier knows of the host's MCP servers. */
export interface McpCatalogView {
  has(name: string): boolean;
  /**
   * Records what the approver of `changeId` will be shown: each tool the
   * grant names (every tool when it names none) as `server` offers it now.
   * Returns why that cannot be done (the server cannot be asked, a named tool
   * is not offered): nobody approves tools they cannot see.
   */
  recordOffer?(changeId: string, grant: McpAccessPayload): Promise<string | undefined>;
  /** Why a registration could not run on this host (a missing program or path, an unset secret), if so. */
  checkRegistration?(server: McpRegisterPayload): string | undefined;
}

/** What the chain needs to know about the host. */
export interface VerifierContext {
  registry: Registry;
  mounts: MountPolicy;
  /** True when an egress broker exists to enforce approved hosts. */
  egressEnabled: boolean;
  /** The host's MCP server catalog (absent: MCP is off). */
  mcpServers?: McpCatalogView;
  /** The vault's secret names (absent: no vault, so grants are refused). */
  vaultSecrets?: { has(name: string): boolean };
  /** The pending changes (absent: none are known). */
  pendingChanges?: () => readonly { request: { id: string; agentGroupId: string } }[];
}

/** Why a `packages` change is refused: an approval that installs nothing would be worse than a refusal. */
export const PACKAGES_REFUSAL =
  "packages changes are refused: the sealed agent runs no programs, so there is nothing to install " +
  "(its tools are built in; for more, grant a tool with enabled_tools or an MCP server with mcp_access)";

/** `packages`: refused up front, whatever the payload (see {@link PACKAGES_REFUSAL}). */
export function packagesVerifier(): Verifier {
  return {
    name: "packages-refused",
    verify: (req) => req.kind === "packages" ? reject(PACKAGES_REFUSAL) : pass(),
  };
}

/** `payload-schema`: the change's `after` must parse with its kind's schema (strict, typed). */
export function payloadSchemaVerifier(): Verifier {
  return {
    name: "payload-schema",
    verify(req) {
      const result = CHANGE_PAYLOADS[req.kind].safeParse(req.after);
      if (result.success) return pass();
      const issue = result.error.issues[0];
      return reject(`${req.kind} payload: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
    },
  };
}

/**
 * `agent-group`: a change targets an existing agent, except `create_agent`,
 * which targets a new one, and `mcp_register`, which changes the host's
 * catalog and grants its target nothing.
 */
export function agentGroupVerifier(registry: Registry): Verifier {
  return {
    name: "agent-group",
    verify(req) {
      if (req.kind === "create_agent" || req.kind === "mcp_register") return pass();
      return registry.hasAgentGroup(req.agentGroupId)
        ? pass()
        : reject(`unknown agent group ${req.agentGroupId}`);
    },
  };
}

/**
 * `mount-allowlist`: each mount's name is valid and used once, and its host
 * directory exists and really lies under an allowed prefix (symlinks
 * resolved, see `resolveMountSource`). Removals pass.
 */
export function mountAllowlistVerifier(policy: MountPolicy): Verifier {
  return {
    name: "mount-allowlist",
    verify(req) {
      if (req.kind !== "mounts") return pass();
      const mounts = MountsPayload.safeParse(req.after);
      if (!mounts.success) return pass("left to payload-schema");
      const names = new Set<string>();
      for (const m of mounts.data) {
        const name = "remove" in m ? m.name : mountName(m);
        if (!MOUNT_NAME.test(name)) {
          return reject(
            `mount ${JSON.stringify(name)} needs a name of letters, digits, '.', '_' or '-' (give one)`,
          );
        }
        if (names.has(name)) return reject(`mount ${name} is named twice`);
        names.add(name);
        if ("remove" in m) continue;
        try {
          resolveMountSource(m.source, policy);
        } catch (err) {
          if (err instanceof MountPathError) return reject(err.message);
          throw err;
        }
      }
      return pass();
    },
  };
}

/** `enabled-tools`: every named tool must be one the agent actually has. */
export function enabledToolsVerifier(): Verifier {
  return {
    name: "enabled-tools",
    verify(req) {
      if (req.kind !== "enabled_tools") return pass();
      const parsed = EnabledToolsPayload.safeParse(req.after);
      if (!parsed.success) return pass("left to payload-schema");
      const names = Array.isArray(parsed.data)
        ? parsed.data
        : "tools" in parsed.data
        ? parsed.data.tools
        : parsed.data.add;
      const unknown = names.filter((n) => !ToolName.safeParse(n).success);
      return unknown.length ? reject(`unknown tools: ${unknown.join(", ")}`) : pass();
    },
  };
}

/**
 * `create-agent`: a safe, unused derived id that equals the request's group,
 * known tools, existing chats; and always a human, whatever else passes.
 */
export function createAgentVerifier(registry: Registry): Verifier {
  return {
    name: "create-agent",
    verify(req) {
      if (req.kind !== "create_agent") return pass();
      const target = checkCreateAgentTarget(req, { registry });
      if (!target.ok) {
        return target.problem === "payload" ? pass("left to payload-schema") : reject(target.reason);
      }
      const p = CreateAgentPayload.parse(req.after);
      if (p.all_tools && p.enabled_tools?.length) {
        return reject("all_tools and enabled_tools exclude each other");
      }
      const unknownTools = (p.enabled_tools ?? []).filter((t) => !ToolName.safeParse(t).success);
      if (unknownTools.length) return reject(`unknown tools: ${unknownTools.join(", ")}`);
      const provider = p.provider === undefined ? undefined : ProviderName.safeParse(p.provider);
      if (provider?.success === false) return reject(provider.error.issues[0].message);
      for (const w of p.wirings ?? []) {
        try {
          registry.getMessagingGroup(w.messagingGroupId);
        } catch {
          return reject(`unknown messaging group ${w.messagingGroupId}`);
        }
      }
      return human("creating an agent always needs a human");
    },
  };
}

/** `wiring`: routing edits must name this agent's own wirings or chats; egress needs a broker. */
export function wiringVerifier(ctx: Pick<VerifierContext, "registry" | "egressEnabled">): Verifier {
  return {
    name: "wiring",
    verify(req: ChangeRequest) {
      if (req.kind !== "wiring") return pass();
      const parsed = WiringPayload.safeParse(req.after);
      if (!parsed.success) return pass("left to payload-schema");
      const w = parsed.data;
      if (w.egress?.length && !ctx.egressEnabled) {
        return reject(
          `no egress broker is enabled on this host, so network access to ${
            w.egress.join(", ")
          } cannot be granted`,
        );
      }
      if (w.wiringId !== undefined) {
        try {
          if (ctx.registry.getWiring(w.wiringId).agentGroupId !== req.agentGroupId) {
            return reject(`wiring ${w.wiringId} belongs to another agent`);
          }
        } catch {
          return reject(`unknown wiring ${w.wiringId}`);
        }
      } else if (w.messagingGroupId !== undefined) {
        try {
          ctx.registry.getMessagingGroup(w.messagingGroupId);
        } catch {
          return reject(`unknown messaging group ${w.messagingGroupId}`);
        }
      } else if (Object.keys(w).some((k) => k !== "egress")) {
        return reject("a routing change must name a wiringId or a messagingGroupId");
      }
      if (w.engage === "pattern" && (w.pattern === undefined || !isRegExp(w.pattern))) {
        return reject("a pattern wiring needs a valid, non-empty pattern");
      }
      return pass();
    },
  };
}

function isRegExp(pattern: string): boolean {
  try {
    return pattern !== "" && new RegExp(pattern) instanceof RegExp;
  } catch {
    return false;
  }
}

/** `permissions`: owner is global and never granted through an agent's change. */
export function permissionsVerifier(): Verifier {
  return {
    name: "permissions",
    verify(req) {
      if (req.kind !== "permissions") return pass();
      const parsed = PermissionsPayload.safeParse(req.after);
      if (!parsed.success) return pass("left to payload-schema");
      if (
        [...parsed.data.grantRoles ?? [], ...parsed.data.revokeRoles ?? []].some((g) => g.role === "owner")
      ) {
        return reject(
          "owner is a global role: grant or revoke it with 'ironclaw registry role', not through a change",
        );
      }
      return pass();
    },
  };
}

/** `mcp`: MCP access and registration need a host MCP catalog; unknown servers are refused. */
export function mcpVerifier(mcpServers: VerifierContext["mcpServers"]): Verifier {
  return {
    name: "mcp",
    verify(req) {
      if (req.kind !== "mcp_access" && req.kind !== "mcp_register") return pass();
      if (!mcpServers) return reject("MCP is not enabled on this host (no server catalog)");
      if (req.kind === "mcp_access") {
        const server = (req.after as { server?: unknown })?.server;
        if (typeof server !== "string" || !mcpServers.has(server)) {
          return reject(`unknown MCP server ${String(server)} (see: ironclaw mcp list)`);
        }
        const grant = McpAccessPayload.safeParse(req.after);
        if (grant.success && mcpServers.recordOffer) {
          return mcpServers.recordOffer(req.id, grant.data).then((problem) =>
            problem === undefined ? pass() : reject(problem)
          );
        }
        return pass();
      }
      const registration = McpRegisterPayload.safeParse(req.after);
      const problem = registration.success ? mcpServers.checkRegistration?.(registration.data) : undefined;
      if (problem !== undefined) return reject(problem);
      return pass();
    },
  };
}

/**
 * `delete-agent`: the agent must exist, and its other pending changes be
 * decided first (approving one after the agent is gone would fail, and its
 * requester would not know why); a deletion always needs a human.
 */
export function deleteAgentVerifier(ctx: Pick<VerifierContext, "registry" | "pendingChanges">): Verifier {
  return {
    name: "delete-agent",
    verify(req) {
      if (req.kind !== "delete_agent") return pass();
      if (!ctx.registry.hasAgentGroup(req.agentGroupId)) return reject(`unknown agent ${req.agentGroupId}`);
      const waiting = (ctx.pendingChanges?.() ?? [])
        .filter((c) => c.request.agentGroupId === req.agentGroupId && c.request.id !== req.id)
        .map((c) => c.request.id);
      if (waiting.length) {
        return reject(
          `decide its pending change${waiting.length > 1 ? "s" : ""} ${waiting.join(", ")} first ` +
            "(ironclaw change approve|reject ID), then ask again",
        );
      }
      return human("deleting an agent always needs a human");
    },
  };
}

/** `always-require-human`: the floor. Every change waits for a person. */
export function alwaysRequireHuman(): Verifier {
  return { name: "always-require-human", verify: () => human("every change needs a human decision") };
}

/** The standard chain, rejecters first and the human floor last. */
/** `vault_grant`: the secret must be set; a grant always needs a human (the final verifier says so). */
export function vaultGrantVerifier(secrets: VerifierContext["vaultSecrets"]): Verifier {
  return {
    name: "vault-grant",
    verify(req) {
      if (req.kind !== "vault_grant") return pass();
      const parsed = VaultGrantPayload.safeParse(req.after);
      if (!parsed.success) return pass("left to payload-schema");
      if (!secrets) return reject("no vault on this host");
      if (!secrets.has(parsed.data.name)) {
        return reject(`vault secret ${parsed.data.name} is not set (ironclaw vault set ${parsed.data.name})`);
      }
      return pass();
    },
  };
}

export function standardVerifiers(ctx: VerifierContext): Verifier[] {
  return [
    packagesVerifier(),
    payloadSchemaVerifier(),
    agentGroupVerifier(ctx.registry),
    mountAllowlistVerifier(ctx.mounts),
    enabledToolsVerifier(),
    createAgentVerifier(ctx.registry),
    wiringVerifier(ctx),
    permissionsVerifier(),
    mcpVerifier(ctx.mcpServers),
    vaultGrantVerifier(ctx.vaultSecrets),
    deleteAgentVerifier(ctx),
    alwaysRequireHuman(),
  ];
}
