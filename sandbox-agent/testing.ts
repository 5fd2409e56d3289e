/**
 * Helpers for the agent's own unit tests. They live here because
 * `sandbox-agent/` imports nothing outside `contract/`, tests included.
 *
 * @module
 */

/** A fresh temporary directory, removed when disposed. */
export function tempDir(prefix = "ironclaw-agent-test-"): { path: string } & Disposable {
  const path = Deno.makeTempDirSync({ prefix });
  return { path, [Symbol.dispose]: () => Deno.removeSync(path, { recursive: true }) };
}
