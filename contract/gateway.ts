/**
 * The gateway protocol: change requests, verdicts, decisions, the audit
 * line, and the interfaces of the deterministic chain
 * (verifiers → approver → applier → store). No model is ever consulted.
 *
 * @module
 */
import { z } from "zod";
import { AgentGroupId, ChangeId } from "./ids.ts";
import { AuditStage, ChangeKind, ChangeStatus, DecisionOutcome, Verdict } from "./enums.ts";
import { Timestamp } from "./time.ts";
import type { JsonValue } from "./json.ts";

const Json = z.json();

/** A proposed change. `before` and `after` are held in canonical (sorted-key) form. */
export const ChangeRequest = z.strictObject({
  id: ChangeId,
  kind: ChangeKind,
  agentGroupId: AgentGroupId,
  requestedBy: z.string().min(1).max(200),
  /** Why the requester says it is needed (the agent's `reason`), shown to whoever decides. */
  rationale: z.string().max(2000).optional(),
  before: Json.nullable(),
  after: Json,
  createdAt: Timestamp,
});
export type ChangeRequest = z.infer<typeof ChangeRequest> & { before: JsonValue | null; after: JsonValue };

/** A decision on a change, by a human or by the chain (`verifier`, `auto`). */
export const Decision = z.strictObject({
  outcome: DecisionOutcome,
  decidedBy: z.string().min(1).max(200),
  decidedAt: Timestamp,
});
export type Decision = z.infer<typeof Decision>;

/** A change with where it is in its life. */
export const ChangeRecord = z.strictObject({
  request: ChangeRequest,
  status: ChangeStatus,
  verdict: Verdict.optional(),
  reason: z.string().optional(),
  decision: Decision.optional(),
  appliedAt: Timestamp.optional(),
});
export type ChangeRecord = z.infer<typeof ChangeRecord> & { request: ChangeRequest };

/** One verifier's answer. */
export interface VerifierResult {
  verdict: Verdict;
  reason: string;
}

/** A deterministic check. It may only add a rejection or ask for a human, never approve past the floor. */
export interface Verifier {
  readonly name: string;
  verify(req: ChangeRequest): VerifierResult | Promise<VerifierResult>;
}

/** Carries out an approved change. Must be idempotent by `req.id`. */
export interface Applier {
  apply(req: ChangeRequest, decision: Decision): Promise<void>;
}

/** A line of the gateway audit log, hash-chained to the line before it. */
export const AuditEntry = z.strictObject({
  time: Timestamp,
  stage: AuditStage,
  changeId: ChangeId,
  kind: ChangeKind.optional(),
  detail: z.string().optional(),
  /** Hash of the previous line ("" for the first). */
  prev: z.string(),
  /** SHA-256 (hex) over `prev` and this line's other fields in canonical JSON. */
  hash: z.string().regex(/^[0-9a-f]{64}$/),
});
export type AuditEntry = z.infer<typeof AuditEntry>;
