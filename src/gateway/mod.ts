/**
 * The deterministic approval gateway: verifier chain → human decision →
 * idempotent apply → audit. No model anywhere on this path.
 *
 * @module
 */
export { Gateway } from "./gateway.ts";
export type { DecideResult, GatewayAudit, GatewayDeps, GatewayStore, SubmitInput } from "./gateway.ts";
export { runChain } from "./chain.ts";
export { standardVerifiers } from "./verifiers.ts";
export type { McpCatalogView, VerifierContext } from "./verifiers.ts";
export {
  type ApplySinks,
  captureBefore,
  changeActor,
  changeOfActor,
  registryApplier,
  RESPAWN_KINDS,
} from "./appliers.ts";
export { controlCharacterPath } from "./control_chars.ts";
export { describeChangeDiff, toolsBeforeAfter } from "./change_diff.ts";
export {
  checkCreateAgentTarget,
  type CreateAgentTarget,
  type CreateAgentTargetProblem,
  createdAgentId,
} from "./create_agent_target.ts";
export { PACKAGES_REFUSAL, packagesVerifier, payloadSchemaVerifier } from "./verifiers.ts";
