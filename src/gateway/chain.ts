/**
 * The verifier chain's aggregation: the first rejection short-circuits (later
 * verifiers do not run); otherwise the first "require-human" sets the reason;
 * otherwise it passes. A verifier that throws rejects: the chain fails closed.
 *
 * @module
 */
import type { ChangeRequest, Verifier, VerifierResult } from "../../contract/mod.ts";

/** Runs `verifiers` in order over `req`. */
export async function runChain(verifiers: readonly Verifier[], req: ChangeRequest): Promise<VerifierResult> {
  let human: VerifierResult | undefined;
  for (const verifier of verifiers) {
    let result: VerifierResult;
    try {
      result = await verifier.verify(req);
    } catch (err) {
      return {
        verdict: "reject",
        reason: `${verifier.name}: error: ${err instanceof Error ? err.message : err}`,
      };
    }
    if (result.verdict === "reject") {
      return { verdict: "reject", reason: `${verifier.name}: ${result.reason}` };
    }
    if (result.verdict === "require-human" && !human) {
      human = { verdict: "require-human", reason: `${verifier.name}: ${result.reason}` };
    }
  }
  return human ?? { verdict: "pass", reason: "all verifiers passed" };
}
