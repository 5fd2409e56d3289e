/**
 * Helpers for the agent's own unit tests. They live here because
 * `sandbox-agent/` imports nothing outside `contract/`, tests included.
 *
 * @module
 */
import type { Destination } from "../contract/rows.ts";

/** A fresh temporary directory, removed when disposed. */
export function tempDir(prefix = "ironclaw-agent-test-"): { path: string } & Disposable {
  const path = Deno.makeTempDirSync({ prefix });
  return { path, [Symbol.dispose]: () => Deno.removeSync(path, { recursive: true }) };
}

/** A session's destinations for tool tests: a channel, an agent, and one missing its platform id. */
export const DESTINATIONS: Destination[] = [
  {
    name: "team",
    displayName: "Team room",
    type: "channel",
    channelType: "slack",
    platformId: "C9",
    agentGroupId: null,
  },
  {
    name: "Researcher",
    displayName: null,
    type: "agent",
    channelType: null,
    platformId: null,
    agentGroupId: "research",
  },
  {
    name: "broken",
    displayName: null,
    type: "channel",
    channelType: "slack",
    platformId: null,
    agentGroupId: null,
  },
] as Destination[];
