/**
 * `ironclaw verify`'s engine: runs the adversarial probe (`isolator/probe/`)
 * under a chosen isolator in a throwaway session, decides every wall from the
 * host's own evidence, and signs the outcome so an operator can keep it.
 *
 * ```ts
 * const result = await verify({ isolator: "runsc" });
 * for (const wall of result.walls) console.log(wall.name, wall.held);
 * ```
 *
 * @module
 */
export {
  CANARY_NAME,
  PROBE_SOURCE,
  probeProgram,
  verify,
  type VerifyOptions,
  type VerifyResult,
} from "./run.ts";
export {
  type AgentProcessEvidence,
  decideWalls,
  type Evidence,
  IDENTITY_CLAIMS,
  type ModelProxyEvidence,
  type Wall,
} from "./walls.ts";
