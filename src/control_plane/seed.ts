/**
 * Embedded defaults for `serve --dev`: a ready `demo` agent on the offline
 * mock model, and the local console user as its operator. Each piece is
 * applied only when absent, so a developer's edits survive restarts, and a
 * state directory seeded by an older version gains what it lacks.
 *
 * @module
 */
import type { AgentGroupId } from "../../contract/ids.ts";
import { findTemplate } from "../catalog/mod.ts";
import { WEB_CHANNEL } from "../channels/mod.ts";
import type { Registry } from "../registry/mod.ts";
import { NotFoundError } from "../state/mod.ts";

/** The dev agent's id. */
export const DEMO_AGENT_ID = "demo" as AgentGroupId;
/**
 * The local operator: the web console and `ironclaw chat` speak as this user
 * (the web chat's handle `console`, namespaced by its channel `web`).
 */
export const CONSOLE_USER_ID = `${WEB_CHANNEL}:console`;

/** Seeds the dev defaults; returns true when anything was created. */
export function seedDevDefaults(registry: Registry): boolean {
  let agentCreated = false;
  if (!registry.hasAgentGroup(DEMO_AGENT_ID)) {
    const template = findTemplate("assistant")!;
    registry.putAgentGroup({
      id: DEMO_AGENT_ID,
      name: "Demo agent",
      provider: "mock",
      personaDocs: template.personaDocs,
      enabledTools: null,
    });
    agentCreated = true;
  }
  const userCreated = !hasUser(registry, CONSOLE_USER_ID);
  if (userCreated) registry.putUser({ id: CONSOLE_USER_ID, kind: "human", displayName: "Local operator" });
  // Only with a new agent or user: a membership the developer removed later stays removed.
  if (agentCreated || userCreated) registry.addMember(CONSOLE_USER_ID, DEMO_AGENT_ID);
  return agentCreated || userCreated;
}

function hasUser(registry: Registry, id: string): boolean {
  try {
    registry.getUser(id);
    return true;
  } catch (err) {
    if (err instanceof NotFoundError) return false;
    throw err;
  }
}
