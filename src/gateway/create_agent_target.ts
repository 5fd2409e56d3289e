/**
 * Where a `create_agent` change points, checked in one place: the agent
 * group its payload creates is derived from the payload (folder, else name:
 * `deriveAgentGroupId`), must be the change's own target, a safe id, and,
 * where a registry is given, not exist yet. The API checks it at submit (a
 * 400 or 409 before any change exists), the create-agent verifier in the
 * chain, the applier again before it writes (without the registry: a
 * re-apply after a crash finds the agent it made), and delivery derives the
 * target of a sandbox's request with {@link createdAgentId}.
 *
 * @module
 */
import { type AgentGroupId, CreateAgentPayload, deriveAgentGroupId, isSafeId } from "../../contract/mod.ts";
import type { Registry } from "../registry/mod.ts";

/** What is wrong with a create_agent change's target. */
export type CreateAgentTargetProblem =
  /** The payload is not a create_agent payload (the payload-schema verifier says why). */
  | "payload"
  /** The change targets another id than the payload derives. */
  | "mismatch"
  /** The derived id is not a safe id. */
  | "unsafe"
  /** An agent group with the id exists already. */
  | "exists";

/** A create_agent change's target: the agent group it creates, or what is wrong and why. */
export type CreateAgentTarget =
  | { ok: true; id: AgentGroupId }
  | { ok: false; problem: CreateAgentTargetProblem; reason: string };

/** The agent group a create_agent payload `after` creates, when it is a payload whose id is safe. */
export function createdAgentId(after: unknown): AgentGroupId | undefined {
  const parsed = CreateAgentPayload.safeParse(after);
  if (!parsed.success) return undefined;
  const id = deriveAgentGroupId(parsed.data);
  return isSafeId(id) ? id : undefined;
}

/** Checks the target of create_agent change `req` (see the module doc); with `registry`, also that it is new. */
export function checkCreateAgentTarget(
  req: { agentGroupId: string; after: unknown },
  options: { registry?: Pick<Registry, "hasAgentGroup"> } = {},
): CreateAgentTarget {
  const parsed = CreateAgentPayload.safeParse(req.after);
  if (!parsed.success) return { ok: false, problem: "payload", reason: "not a create_agent payload" };
  const p = parsed.data;
  const id = deriveAgentGroupId(p);
  if (id !== req.agentGroupId) {
    return {
      ok: false,
      problem: "mismatch",
      reason: `agentGroupId: must be ${JSON.stringify(id)}, the id the payload's folder or name gives`,
    };
  }
  if (p.name.includes("..") || p.folder?.includes("..")) {
    return { ok: false, problem: "unsafe", reason: "agent name and folder may not hold '..'" };
  }
  if (!isSafeId(id)) {
    return {
      ok: false,
      problem: "unsafe",
      reason: `derived agent id ${JSON.stringify(id)} is not a safe id`,
    };
  }
  if (options.registry?.hasAgentGroup(id)) {
    return { ok: false, problem: "exists", reason: `agent group ${JSON.stringify(id)} already exists` };
  }
  return { ok: true, id };
}
