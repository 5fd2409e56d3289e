/**
 * The gateway over HTTP: submit, list, read and decide changes. A human's
 * decision is the only way a change applies.
 *
 * @module
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { ControlPlane } from "../../control_plane/mod.ts";
import { checkCreateAgentTarget, type SubmitInput } from "../../gateway/mod.ts";
import { routeGroup } from "../route_group.ts";
import { ApiError } from "../errors.ts";
import { errorAnswers, jsonAnswer, jsonBody } from "../openapi.ts";
import { ChangeIdParam, ChangeView, DecisionAnswer, DecisionBody, SubmitChangeBody } from "../schemas.ts";
import type { ChangeRecord } from "../../../contract/gateway.ts";
import { describeChangeDiff, PACKAGES_REFUSAL } from "../../gateway/mod.ts";

/** `record` with its readable diff. */
export function changeView(record: ChangeRecord) {
  return { ...record, diff: describeChangeDiff(record.request) };
}

/** A route at `path` that submits a change validated by `body` and answers 202 with its record. */
export function submitRoute<P extends string, B extends z.ZodType>(
  path: P,
  body: B,
  summary: string,
) {
  return createRoute({
    method: "post",
    path,
    summary,
    request: { body: jsonBody(body) },
    responses: {
      202: jsonAnswer(ChangeView, "recorded: pending, or rejected by a verifier"),
      ...errorAnswers(400, 409, 413, 415),
    },
  });
}

/** Checks the target, then submits: the handler of every {@linkcode submitRoute}. */
export async function submitChange(plane: ControlPlane, input: SubmitInput) {
  checkTarget(plane, input);
  return changeView(await plane.gateway.submit(input));
}

const submit = submitRoute(
  "/v1/changes",
  SubmitChangeBody,
  "Propose a change; it waits for a human unless a verifier rejects it",
);

const pending = createRoute({
  method: "get",
  path: "/v1/changes/pending",
  summary: "Changes awaiting a human decision, oldest first",
  responses: { 200: jsonAnswer(z.array(ChangeView), "pending changes"), ...errorAnswers() },
});

const history = createRoute({
  method: "get",
  path: "/v1/changes/history",
  summary: "Decided changes (approved, rejected, applied), oldest first",
  responses: { 200: jsonAnswer(z.array(ChangeView), "decided changes"), ...errorAnswers() },
});

const one = createRoute({
  method: "get",
  path: "/v1/changes/{id}",
  summary: "One change",
  request: { params: ChangeIdParam },
  responses: { 200: jsonAnswer(ChangeView, "the change"), ...errorAnswers(400, 404) },
});

const decide = createRoute({
  method: "post",
  path: "/v1/changes/{id}/decision",
  summary: "A human's decision; an approval is applied at once",
  request: { params: ChangeIdParam, body: jsonBody(DecisionBody) },
  responses: {
    200: jsonAnswer(DecisionAnswer, "decided (and applied, unless applyError says why not)"),
    ...errorAnswers(400, 404, 409, 413, 415),
  },
});

/**
 * Checks a submission against the registry before it becomes a change:
 * the target agent must exist, or for `create_agent` be the new one the
 * payload names and not exist yet.
 */
export function checkTarget(plane: ControlPlane, input: SubmitInput): void {
  if (input.kind === "packages") throw new ApiError(400, PACKAGES_REFUSAL);
  // The catalog is the host's: a registration grants its target nothing.
  if (input.kind === "mcp_register") return;
  if (input.kind !== "create_agent") {
    if (!plane.registry.hasAgentGroup(input.agentGroupId)) {
      throw new ApiError(400, `agentGroupId: agent group ${JSON.stringify(input.agentGroupId)} not found`);
    }
    return;
  }
  // An unsafe id or a bad payload goes on to the chain, which rejects it on the record.
  const target = checkCreateAgentTarget(input, { registry: plane.registry });
  if (!target.ok && target.problem === "mismatch") throw new ApiError(400, target.reason);
  if (!target.ok && target.problem === "exists") throw new ApiError(409, target.reason);
}

/** The change routes. */
export function changeRoutes(plane: ControlPlane) {
  return routeGroup()
    .openapi(submit, async (c) => c.json(await submitChange(plane, c.req.valid("json")), 202))
    .openapi(pending, (c) => c.json(plane.gateway.pending().map(changeView), 200))
    .openapi(history, (c) => c.json(plane.gateway.history().map(changeView), 200))
    .openapi(one, (c) => c.json(changeView(plane.gateway.get(c.req.valid("param").id)), 200))
    .openapi(decide, async (c) => {
      const { outcome, decidedBy } = c.req.valid("json");
      const decided = await plane.gateway.decide(c.req.valid("param").id, outcome, decidedBy);
      return c.json({ ...decided, record: changeView(decided.record) }, 200);
    });
}
