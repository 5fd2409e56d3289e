/**
 * The gateway's durable change store, in the state database. Every change
 * request is kept with its verdict, decision and application, so pending
 * changes survive a restart (the gateway re-arms them) and history is the
 * permanent record. `applied_changes` is the apply ledger that makes
 * application idempotent by change id.
 *
 * A record's fields always agree with its status: pending has no decision,
 * approved and rejected carry a matching decision, applied an approval and a
 * time. `applied` is terminal and a decision is final.
 *
 * @module
 */
import {
  canonicalJson,
  type ChangeId,
  ChangeRecord,
  type ChangeRequest,
  type ChangeStatus,
  Decision,
  type JsonValue,
  nowTimestamp,
  Timestamp,
  Verdict,
} from "../../contract/mod.ts";
import type { Database } from "../../contract/sqlite/mod.ts";
import { ConflictError, InvalidInputError, NotFoundError, validate } from "./errors.ts";
import type { StateDb } from "./state_db.ts";

type ChangeRow = {
  id: string;
  kind: string;
  agent_group_id: string;
  requested_by: string;
  rationale: string | null;
  before_json: string | null;
  after_json: string;
  created_at: string;
  status: string;
  verdict: string | null;
  reason: string | null;
  decision: string | null;
  applied_at: string | null;
};

const SELECT = "SELECT * FROM changes";
const ORDER = "ORDER BY created_at, id";

/** Durable gateway change records. */
export class ChangeStore {
  #db: Database;

  constructor(state: StateDb) {
    this.#db = state.db;
  }

  /** Stores a new record; returns false and changes nothing when its id is already stored. */
  put(record: ChangeRecord): boolean {
    const r = validate(ChangeRecord, record, "change record");
    checkConsistent(r);
    const req = r.request;
    return this.#db.transaction(() => {
      const inserted = this.#db.run(
        `INSERT INTO changes (id, kind, agent_group_id, requested_by, rationale, before_json, after_json,
           created_at, status, verdict, reason, decision, applied_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
        [
          req.id,
          req.kind,
          req.agentGroupId,
          req.requestedBy,
          req.rationale ?? null,
          req.before === null ? null : canonicalJson(req.before),
          canonicalJson(req.after),
          req.createdAt,
          r.status,
          r.verdict ?? null,
          r.reason ?? null,
          r.decision ? canonicalJson(r.decision) : null,
          r.appliedAt ?? null,
        ],
      ) === 1;
      if (inserted && r.appliedAt !== undefined) {
        this.#db.run("INSERT INTO applied_changes (change_id, applied_at) VALUES (?, ?)", [
          req.id,
          r.appliedAt,
        ]);
      }
      return inserted;
    });
  }

  /** The record of `id`; throws {@link NotFoundError} when unknown. */
  get(id: string): ChangeRecord {
    const row = this.#db.get<ChangeRow>(`${SELECT} WHERE id = ?`, [id]);
    if (!row) throw new NotFoundError("change", id);
    return decode(row);
  }

  /** Records the verifier chain's verdict on a pending change. */
  setVerdict(id: string, verdict: Verdict, reason: string): void {
    validate(Verdict, verdict, "verdict");
    this.#db.transaction(() => {
      this.#requireStatus(id, "record a verdict on", ["pending"]);
      this.#db.run("UPDATE changes SET verdict = ?, reason = ? WHERE id = ?", [verdict, reason, id]);
    });
  }

  /**
   * Records the decision on a pending change. `status` must be the one the
   * outcome leads to (`approved` for approve, `rejected` for reject); a
   * change is decided once.
   */
  setDecision(id: string, decision: Decision, status: "approved" | "rejected"): void {
    const d = validate(Decision, decision, "decision");
    if (status !== (d.outcome === "approve" ? "approved" : "rejected")) {
      throw new InvalidInputError(`a decision to ${d.outcome} cannot leave change ${id} ${status}`);
    }
    this.#db.transaction(() => {
      this.#requireStatus(id, "decide", ["pending"]);
      this.#db.run("UPDATE changes SET status = ?, decision = ? WHERE id = ?", [
        status,
        canonicalJson(d),
        id,
      ]);
    });
  }

  /** Marks an approved change applied. Repeating it is a no-op; a change never approved cannot be applied. */
  markApplied(id: string, at: Timestamp = nowTimestamp()): void {
    validate(Timestamp, at, "applied time");
    this.#db.transaction(() => {
      if (this.#requireStatus(id, "apply", ["approved", "applied"]) === "applied") return;
      this.#db.run("INSERT INTO applied_changes (change_id, applied_at) VALUES (?, ?)", [id, at]);
      this.#db.run("UPDATE changes SET status = 'applied', applied_at = ? WHERE id = ?", [at, id]);
    });
  }

  /** True once `id` has been applied (false for unknown ids). */
  isApplied(id: string): boolean {
    return this.#db.get("SELECT 1 AS x FROM applied_changes WHERE change_id = ?", [id]) !== undefined;
  }

  /** Changes awaiting a decision, oldest first (ties by id). */
  pending(): ChangeRecord[] {
    return this.#db.all<ChangeRow>(`${SELECT} WHERE status = 'pending' ${ORDER}`).map(decode);
  }

  /** Every decided change (approved, rejected, applied), oldest first (ties by id). */
  history(): ChangeRecord[] {
    return this.#db.all<ChangeRow>(`${SELECT} WHERE status <> 'pending' ${ORDER}`).map(decode);
  }

  #requireStatus(id: string, action: string, allowed: readonly ChangeStatus[]): ChangeStatus {
    const row = this.#db.get<{ status: string }>("SELECT status FROM changes WHERE id = ?", [id]);
    if (!row) throw new NotFoundError("change", id);
    const status = row.status as ChangeStatus;
    if (!allowed.includes(status)) throw new ConflictError(`cannot ${action} change ${id}: it is ${status}`);
    return status;
  }
}

function checkConsistent(r: ChangeRecord): void {
  const outcome = r.decision?.outcome;
  const fits = r.status === "pending"
    ? outcome === undefined && r.appliedAt === undefined
    : r.status === "applied"
    ? outcome === "approve" && r.appliedAt !== undefined
    : outcome === (r.status === "approved" ? "approve" : "reject") && r.appliedAt === undefined;
  if (!fits) {
    throw new InvalidInputError(
      `change ${r.request.id} is ${r.status} but has decision ${outcome ?? "none"} and ${
        r.appliedAt ? "an" : "no"
      } applied time`,
    );
  }
}

function decode(row: ChangeRow): ChangeRecord {
  const request: ChangeRequest = {
    id: row.id as ChangeId,
    kind: row.kind as ChangeRequest["kind"],
    agentGroupId: row.agent_group_id as ChangeRequest["agentGroupId"],
    requestedBy: row.requested_by,
    ...(row.rationale === null ? {} : { rationale: row.rationale }),
    before: row.before_json === null ? null : JSON.parse(row.before_json) as JsonValue,
    after: JSON.parse(row.after_json) as JsonValue,
    createdAt: row.created_at,
  };
  const record: ChangeRecord = { request, status: row.status as ChangeStatus };
  if (row.verdict !== null) record.verdict = row.verdict as Verdict;
  if (row.reason !== null) record.reason = row.reason;
  if (row.decision !== null) record.decision = JSON.parse(row.decision) as Decision;
  if (row.applied_at !== null) record.appliedAt = row.applied_at;
  return record;
}
