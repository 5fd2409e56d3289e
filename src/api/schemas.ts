/**
 * The API's request and response schemas. Wherever the registry or the
 * contract already has a schema it is reused as is, so the edge validates
 * exactly what the state layer accepts and the OpenAPI document describes
 * the same thing. What is added here is edge policy: strict bodies, one-line
 * actor names, no control characters anywhere, and a change's payload
 * checked against its kind before it becomes a change.
 *
 * @module
 */
import { z } from "@hono/zod-openapi";
import { noControlChars } from "../../contract/ids.ts";
import {
  AgentGroupId,
  AuditEntry,
  CHANGE_PAYLOADS,
  ChangeId,
  ChangeKind,
  ChangeRecord,
  ChangeRequest,
  Decision,
  MessagingGroupId,
  SessionId,
  UserId,
  WiringId,
} from "../../contract/mod.ts";
import { controlCharacterPath } from "../gateway/mod.ts";
import { AccessReason, AgentGroupInput, Destination, MountsInput, UserInput } from "../registry/mod.ts";

// The payload fields are z.json(), a recursive schema: the generator needs it named. Zod copies
// prototype methods into each schema when it is built, so a schema built before this module was
// loaded lacks `.openapi`: call it through the prototype.
(z.ZodType.prototype as { openapi(this: z.ZodType, refId: string): z.ZodType }).openapi.call(
  ChangeRequest.shape.after,
  "JsonValue",
);

/** Every error answer. */
export const ErrorBody = z.object({ error: z.string() }).openapi("Error");

/**
 * `schema`, also refusing control characters in any string or key of the
 * body (tab, newline and carriage return are allowed: persona documents are
 * multi-line; single-line fields have their own patterns).
 */
export function edgeBody<S extends z.ZodType>(schema: S): S {
  return schema.superRefine((value, ctx) => {
    const path = controlCharacterPath(value);
    if (path) ctx.addIssue({ code: "custom", path, message: "control characters are not allowed" });
  }) as unknown as S;
}

/** Who asks or decides: 1–200 characters on one line. */
export const Actor = ChangeRequest.shape.requestedBy.regex(noControlChars(), {
  message: "must be one line with no control characters",
});

/** Payload schemas at the edge: the contract's, with mounts also held to absolute, `..`-free paths. */
const EDGE_PAYLOADS: Record<ChangeKind, z.ZodType> = { ...CHANGE_PAYLOADS, mounts: MountsInput };

/** Adds an issue (under `after`) when the payload does not fit its kind. */
function checkPayload(body: { kind: ChangeKind; after?: unknown }, ctx: z.RefinementCtx): void {
  const schema = EDGE_PAYLOADS[body.kind];
  if (!schema) return; // the kind itself is reported
  const result = schema.safeParse(body.after);
  if (result.success) return;
  const issue = result.error.issues[0];
  const unknownKey = issue.code === "unrecognized_keys";
  ctx.addIssue({
    code: "custom",
    path: ["after", ...issue.path, ...(unknownKey ? [issue.keys[0]] : [])] as PropertyKey[],
    message: unknownKey ? "unknown field" : `${body.kind} payload: ${issue.message}`,
  });
}

/** `POST /v1/changes`. */
export const SubmitChangeBody = edgeBody(
  z.strictObject({
    id: ChangeId.optional(),
    kind: ChangeKind,
    agentGroupId: AgentGroupId,
    requestedBy: Actor,
    /** Why it is needed, shown to whoever decides. */
    rationale: z.string().trim().max(2000).optional(),
    after: ChangeRequest.shape.after,
  }).superRefine(checkPayload),
).openapi("SubmitChange");

/** Kinds the console's config editor may propose. */
export const ConfigChangeKind = ChangeKind.extract([
  "persona",
  "enabled_tools",
  "packages",
  "permissions",
  "mounts",
  "wiring",
  "mcp_access",
]);

/** `POST /v1/ui/config/change`. */
export const ConfigChangeBody = edgeBody(
  z.strictObject({
    kind: ConfigChangeKind,
    agentGroupId: AgentGroupId,
    requestedBy: Actor,
    after: ChangeRequest.shape.after,
  }).superRefine(checkPayload),
).openapi("ConfigChange");

/** `POST /v1/changes/{id}/decision`. */
export const DecisionBody = edgeBody(
  z.strictObject({ outcome: Decision.shape.outcome, decidedBy: Actor }),
).openapi("DecisionInput");

/** A path naming one change. */
export const ChangeIdParam = z.object({ id: ChangeId });

/** `?limit=` of the audit views. */
export function auditLimit(fallback: number) {
  return z.object({ limit: z.coerce.number().int().min(1).max(2000).default(fallback) });
}

/** The audit chain's verification. */
export const AuditVerifyAnswer = z.union([
  z.object({
    ok: z.literal(true),
    lines: z.number().int(),
    head: z.string().describe(
      "the last line's HMAC: compare it with an earlier `audit verify` to see the chain grew",
    ),
    legacyLines: z.number().int().describe("leading lines from before the chain was keyed (plain SHA-256)"),
    anchored: z.boolean().describe("whether the head was checked against the state database's anchor"),
  }),
  z.object({ ok: z.literal(false), line: z.number().int(), reason: z.string() }),
]);

export { AuditEntry, ChangeRecord };

/** A change as the API shows it: its record and what it does, in lines an approver reads. */
export const ChangeView = ChangeRecord.extend({
  diff: z.array(z.string()).describe("tools added/removed, persona lines changed, or before/after"),
}).openapi("ChangeView");

/** The answer to a decision. */
export const DecisionAnswer = z.object({ record: ChangeView, applyError: z.string().optional() });

/** `PUT /v1/registry/agent-groups/{id}`: an `id` in the body is allowed and ignored (the path wins). */
export const AgentGroupBody = edgeBody(AgentGroupInput.extend({ id: AgentGroupId.optional() }))
  .openapi("AgentGroupInput");

/** A path naming one agent group. */
export const AgentGroupIdParam = z.object({ id: AgentGroupId });
/** A path naming one messaging group. */
export const MessagingGroupIdParam = z.object({ id: MessagingGroupId });
/** A path naming one wiring. */
export const WiringIdParam = z.object({ id: WiringId });
/** A path naming one session. */
export const SessionIdParam = z.object({ id: SessionId });
/** `?agentGroupId=` of the session list. */
export const SessionsQuery = z.object({ agentGroupId: AgentGroupId.optional() });

/** `PUT /v1/registry/users/{id}`. */
export const UserBody = edgeBody(UserInput.omit({ id: true })).openapi("UserInput");
/** A path naming one user. */
export const UserIdParam = z.object({ id: UserId });

/** `POST /v1/registry/members` and `/members/remove`. */
export const MemberBody = edgeBody(z.strictObject({ userId: UserId, agentGroupId: AgentGroupId }))
  .openapi("Membership");

/** `?agentGroupId=&channelType=&platformId=` of the destination check. */
export const DestinationQuery = z.object(
  Destination.pick({ agentGroupId: true, channelType: true, platformId: true }).shape,
);

/** `?userId=&agentGroupId=` of the access check. */
export const AccessQuery = z.object({ userId: UserId, agentGroupId: AgentGroupId });
/** The access check's answer. */
export const AccessAnswer = z.object({ allowed: z.boolean(), reason: AccessReason });

/** `{"status": …}` acknowledgements. */
export const StatusAnswer = z.object({ status: z.string() });
