/**
 * A ValidatingAdmissionPolicy evaluated the way the API server does, for
 * tests without one: its match conditions, variables (in order, each seeing
 * the ones before) and validations are CEL, run by `@bufbuild/cel` over
 * `object`, `oldObject`, `request` and `variables`. An expression that
 * fails to evaluate denies (the policy's `failurePolicy: Fail`); a request
 * its match conditions exclude is admitted by this policy. Kubernetes'
 * own CEL libraries (authorizer, quantity, …) are not provided: a policy
 * that needs them fails here, closed.
 *
 * @module
 */
import { type CelInput, type CelValue, isCelError, run } from "@bufbuild/cel";

/** The admission request, as the policy sees it. */
export interface AdmissionRequest {
  operation: "CREATE" | "UPDATE" | "DELETE";
  userInfo: { username: string; extra?: Record<string, string[]> };
  object?: unknown;
  oldObject?: unknown;
}

/** The policy's verdict: admitted, or denied with the failing validation's message. */
export type AdmissionVerdict = { allowed: true } | { allowed: false; message: string };

interface Expression {
  name?: string;
  expression: string;
  message?: string;
}

interface PolicySpec {
  matchConditions?: Expression[];
  variables?: Expression[];
  validations: Expression[];
}

/** JSON as CEL values: objects become maps and whole numbers ints, as in the API server. */
function toCel(value: unknown): CelInput {
  if (Array.isArray(value)) return value.map(toCel);
  if (value !== null && typeof value === "object") {
    return new Map(Object.entries(value).map(([k, v]) => [k, toCel(v)]));
  }
  if (typeof value === "number" && Number.isInteger(value)) return BigInt(value);
  return value as CelInput;
}

/** Evaluates `policy` (a ValidatingAdmissionPolicy object) on `request`. */
export function admit(policy: { spec: PolicySpec }, request: AdmissionRequest): AdmissionVerdict {
  const bindings: Record<string, CelInput> = {
    object: toCel(request.object ?? null),
    oldObject: toCel(request.oldObject ?? null),
    request: toCel({ operation: request.operation, userInfo: { extra: {}, ...request.userInfo } }),
  };
  // An evaluation error (returned or thrown) denies, as failurePolicy Fail does.
  const evaluate = (e: Expression, what: string): CelValue => {
    let result;
    try {
      result = run(e.expression, bindings);
    } catch (err) {
      throw new Error(`${what} ${e.name ?? e.expression}: ${(err as Error).message}`);
    }
    if (isCelError(result)) throw new Error(`${what} ${e.name ?? e.expression}: ${result.message}`);
    return result;
  };
  try {
    for (const condition of policy.spec.matchConditions ?? []) {
      if (evaluate(condition, "match condition") !== true) return { allowed: true };
    }
    const variables = new Map<string, CelValue>();
    bindings.variables = variables;
    for (const variable of policy.spec.variables ?? []) {
      variables.set(variable.name!, evaluate(variable, "variable"));
    }
    for (const validation of policy.spec.validations) {
      if (evaluate(validation, "validation") !== true) {
        return { allowed: false, message: validation.message ?? validation.expression };
      }
    }
  } catch (err) {
    return { allowed: false, message: (err as Error).message };
  }
  return { allowed: true };
}
