/**
 * `ironclaw verify`'s engine: runs the adversarial probe (`isolator/probe/`)
 * under a chosen isolator in a throwaway session, decides every wall from the
 * host's own evidence, and signs the outcome so an operator can keep it.
 *
 * ```ts
 * // "process" runs in seconds and holds few walls; `ironclaw verify` attacks "runsc", which holds them all.
 * const result = await verify({ isolator: "process" });
 * for (const wall of result.walls) console.log(wall.name, wall.held);
 * ```
 *
 * @module
 */
export { verify, type VerifyOptions, type VerifyResult, type VerifyRun } from "./run.ts";
export { CANARY_NAME } from "./isolation_walls.ts";
export {
  chooseProbeProgram,
  PROBE_EXECUTABLE_NAME,
  PROBE_PROGRAM_ENV,
  PROBE_SOURCE,
  type ProbeProgram,
  probeProgram,
  ProbeProgramError,
} from "./probe_program.ts";
export {
  type CheckOutcome,
  checkReport,
  reportProbe,
  type SignedReport,
  signReport,
} from "./signed_report.ts";
export { keptReportPath, type LatestReport, latestReport, VERIFY_REPORTS_DIR } from "./latest_report.ts";
export { isNotProven, NOT_PROVEN, withoutHostObservations } from "./not_proven.ts";
export {
  type AgentProcessEvidence,
  decideWalls,
  type Evidence,
  IDENTITY_CLAIMS,
  type ModelProxyEvidence,
} from "./walls.ts";
export type { Wall } from "./verdict.ts";
export type { WallKit } from "./wall_kit.ts";
