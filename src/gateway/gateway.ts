/**
 * The gateway: submit → verifier chain → (human) decision → idempotent apply,
 * every step written to the durable store and the audit log. It is a state
 * machine over the store rather than a task blocked on a human, so a pending
 * change survives any restart and can be decided afterwards, and an approved
 * change whose apply was interrupted is applied again by {@link Gateway.resume}.
 * No model is consulted anywhere on this path.
 *
 * @module
 */
import {
  canonicalJson,
  ChangeId,
  type ChangeKind,
  type ChangeRecord,
  type ChangeRequest,
  type Decision,
  type DecisionOutcome,
  type JsonValue,
  newChangeId,
  nowTimestamp,
  type Verifier,
} from "../../contract/mod.ts";
import type { AgentGroupId } from "../../contract/ids.ts";
import { runChain } from "./chain.ts";

/** The store the gateway drives (see `src/state/change_store.ts`). */
export interface GatewayStore {
  put(record: ChangeRecord): boolean;
  get(id: string): ChangeRecord;
  setVerdict(id: string, verdict: ChangeRecord["verdict"] & string, reason: string): void;
  setDecision(id: string, decision: Decision, status: "approved" | "rejected"): void;
  markApplied(id: string): void;
  isApplied(id: string): boolean;
  pending(): ChangeRecord[];
  history(): ChangeRecord[];
}

/** Where audit lines go (see `src/audit/`). */
export interface GatewayAudit {
  append(
    entry: {
      stage: "submit" | "verdict" | "decision" | "apply";
      changeId: string;
      kind?: ChangeKind;
      detail?: string;
    },
  ): Promise<unknown>;
}

/** What the gateway is built from. */
export interface GatewayDeps {
  store: GatewayStore;
  audit: GatewayAudit;
  verifiers: readonly Verifier[];
  /** Carries out an approved change; must be idempotent for the same request. */
  apply: (req: ChangeRequest) => Promise<void> | void;
  /** The current state a change would replace, recorded as its `before`. */
  captureBefore: (kind: ChangeKind, agentGroupId: AgentGroupId) => JsonValue | null;
  /** Called once per terminal decision ("approved" | "rejected"), for metrics. */
  onDecision?: (decision: "approved" | "rejected") => void;
  /** Called after a change is applied (e.g. to restart the group's sandboxes). */
  onApplied?: (req: ChangeRequest) => Promise<void> | void;
  /** Reports a failure of `onApplied`: the change is applied, the follow-up is not. */
  onHookError?: (req: ChangeRequest, err: unknown) => void;
}

/** What a submitter supplies. */
export interface SubmitInput {
  id?: string;
  kind: ChangeKind;
  agentGroupId: AgentGroupId;
  requestedBy: string;
  /** Why the requester says it is needed (shown to the approver; empty is none). */
  rationale?: string;
  after: unknown;
}

/** The outcome of a decision: the record, and the apply error if applying failed (it stays approved). */
export interface DecideResult {
  record: ChangeRecord;
  applyError?: string;
}

/** The deterministic approval gateway. */
export class Gateway {
  readonly #deps: GatewayDeps;

  constructor(deps: GatewayDeps) {
    this.#deps = deps;
  }

  /**
   * Records a change, runs the chain, and returns the record: `rejected` by a
   * verifier, `pending` for a human, or `applied` if the chain passed outright.
   * Submitting an id that exists returns the stored record unchanged.
   */
  async submit(input: SubmitInput): Promise<ChangeRecord> {
    const { store, audit } = this.#deps;
    const id = input.id === undefined ? newChangeId() : ChangeId.parse(input.id);
    const request: ChangeRequest = {
      id,
      kind: input.kind,
      agentGroupId: input.agentGroupId,
      requestedBy: input.requestedBy,
      ...(input.rationale?.trim() ? { rationale: input.rationale.trim() } : {}),
      before: this.#deps.captureBefore(input.kind, input.agentGroupId),
      after: JSON.parse(canonicalJson(input.after)) as JsonValue,
      createdAt: nowTimestamp(),
    };
    if (!store.put({ request, status: "pending" })) return store.get(id);
    await audit.append({ stage: "submit", changeId: id, kind: request.kind, detail: request.requestedBy });

    const { verdict, reason } = await runChain(this.#deps.verifiers, request);
    store.setVerdict(id, verdict, reason);
    await audit.append({
      stage: "verdict",
      changeId: id,
      kind: request.kind,
      detail: `${verdict}: ${reason}`,
    });

    if (verdict === "reject") {
      await this.#record(
        request,
        { outcome: "reject", decidedBy: "verifier", decidedAt: nowTimestamp() },
        `reject (verifier): ${reason}`,
      );
    } else if (verdict === "pass") {
      await this.#record(
        request,
        { outcome: "approve", decidedBy: "auto", decidedAt: nowTimestamp() },
        "auto-approve (all verifiers passed)",
      );
      await this.#applyNow(request).catch(() => {});
    }
    return store.get(id);
  }

  /**
   * A human decision on a pending change. Throws the store's not-found error
   * for an unknown id and its conflict error when the change is already
   * decided. An approval is applied at once.
   */
  async decide(id: string, outcome: DecisionOutcome, decidedBy: string): Promise<DecideResult> {
    const { request } = this.#deps.store.get(id);
    await this.#record(
      request,
      { outcome, decidedBy, decidedAt: nowTimestamp() },
      `${outcome} by ${decidedBy}`,
    );
    if (outcome === "reject") return { record: this.#deps.store.get(id) };
    try {
      await this.#applyNow(request);
      return { record: this.#deps.store.get(id) };
    } catch (err) {
      return {
        record: this.#deps.store.get(id),
        applyError: err instanceof Error ? err.message : String(err),
      };
    }
  }

  /** At start-up: applies every approved change whose apply did not complete. Returns their ids. */
  async resume(): Promise<{ applied: string[]; failed: { id: string; error: string }[] }> {
    const applied: string[] = [];
    const failed: { id: string; error: string }[] = [];
    for (const record of this.#deps.store.history()) {
      if (record.status !== "approved" || record.decision?.outcome !== "approve") continue;
      try {
        await this.#applyNow(record.request);
        applied.push(record.request.id);
      } catch (err) {
        failed.push({ id: record.request.id, error: err instanceof Error ? err.message : String(err) });
      }
    }
    return { applied, failed };
  }

  /** Changes awaiting a human, oldest first. */
  pending(): ChangeRecord[] {
    return this.#deps.store.pending();
  }

  /** Decided changes, oldest first. */
  history(): ChangeRecord[] {
    return this.#deps.store.history();
  }

  /** One change; throws the store's not-found error when unknown. */
  get(id: string): ChangeRecord {
    return this.#deps.store.get(id);
  }

  async #record(request: ChangeRequest, decision: Decision, detail: string): Promise<void> {
    const status = decision.outcome === "approve" ? "approved" : "rejected";
    // Synchronous and conditional on "pending": of two racing decisions only one can land.
    this.#deps.store.setDecision(request.id, decision, status);
    this.#deps.onDecision?.(status);
    await this.#deps.audit.append({ stage: "decision", changeId: request.id, kind: request.kind, detail });
  }

  async #applyNow(request: ChangeRequest): Promise<void> {
    const { store, audit } = this.#deps;
    if (store.isApplied(request.id)) return;
    try {
      await this.#deps.apply(request);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      await audit.append({
        stage: "apply",
        changeId: request.id,
        kind: request.kind,
        detail: `error: ${why}`,
      });
      throw err;
    }
    store.markApplied(request.id);
    await audit.append({ stage: "apply", changeId: request.id, kind: request.kind });
    try {
      await this.#deps.onApplied?.(request);
    } catch (err) {
      this.#deps.onHookError?.(request, err);
    }
  }
}
