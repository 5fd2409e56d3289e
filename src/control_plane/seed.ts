/**
 * Embedded defaults for `serve --dev`: a ready `demo` agent on the offline
 * mock model, and the local console user as its operator. Applied only when
 * absent, so a developer's edits survive restarts.
 *
 * @module
 */
import type { AgentGroupId } from "../../contract/ids.ts";
import { findTemplate } from "../catalog/mod.ts";
import type { Registry } from "../registry/mod.ts";

/** The dev agent's id. */
export const DEMO_AGENT_ID = "demo" as AgentGroupId;
/** The local operator: the web console and `ironclaw chat` speak as this user. */
export const CONSOLE_USER_ID = "webchat:console";

/** Seeds the dev defaults; returns true when anything was created. */
export function seedDevDefaults(registry: Registry): boolean {
  if (registry.hasAgentGroup(DEMO_AGENT_ID)) return false;
  const template = findTemplate("assistant")!;
  registry.putAgentGroup({
    id: DEMO_AGENT_ID,
    name: "Demo agent",
    provider: "mock",
    personaDocs: template.personaDocs,
    enabledTools: null,
  });
  registry.putUser({ id: CONSOLE_USER_ID, kind: "human", displayName: "Local operator" });
  registry.addMember(CONSOLE_USER_ID, DEMO_AGENT_ID);
  return true;
}
