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

/**
 * `promise`, or a rejection naming `what` once `ms` pass first: a test that
 * waits on it fails instead of hanging.
 */
export async function deadline<T>(promise: Promise<T>, options: { what: string; ms?: number }): Promise<T> {
  const ms = options.ms ?? 10_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${options.what} did not happen within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
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
