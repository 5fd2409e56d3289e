import assert from "node:assert/strict";
import type { ChangeRecord, ChangeRequest, Decision } from "../../contract/mod.ts";
import { tempDir } from "../../tests/support/mod.ts";
import { openTestState } from "../../tests/support/state.ts";
import { ChangeStore, ConflictError, InvalidInputError, NotFoundError } from "./mod.ts";

function request(
  id: string,
  createdAt: string,
  after: ChangeRequest["after"] = { tools: ["read_file"] },
): ChangeRequest {
  return {
    id,
    kind: "enabled_tools",
    agentGroupId: "main",
    requestedBy: "slack:ann",
    before: null,
    after,
    createdAt,
  } as ChangeRequest;
}

const pending = (req: ChangeRequest): ChangeRecord => ({ request: req, status: "pending" });
const approve: Decision = {
  outcome: "approve",
  decidedBy: "slack:ann",
  decidedAt: "2026-01-02T00:00:00.000Z",
};
const reject: Decision = { outcome: "reject", decidedBy: "verifier", decidedAt: "2026-01-02T00:00:00.000Z" };

Deno.test("change store keeps requests in canonical form and survives reopening", () => {
  using dir = tempDir();
  {
    using state = openTestState(dir.path);
    const changes = new ChangeStore(state);
    const req = {
      ...request("chg_a", "2026-01-01T00:00:00.000Z", { z: 1, a: [{ y: 2, b: 3 }] }),
      before: { k: "v" },
    };
    assert.equal(changes.put(pending(req)), true);
    changes.setVerdict("chg_a", "require-human", "always-require-human: v1 floor");
    changes.setDecision("chg_a", approve, "approved");
    changes.markApplied("chg_a", "2026-01-03T00:00:00.000Z");
    assert.equal(
      state.db.get("SELECT after_json FROM changes WHERE id = 'chg_a'")?.after_json,
      '{"a":[{"b":3,"y":2}],"z":1}',
    );
  }
  using state = openTestState(dir.path);
  const changes = new ChangeStore(state);
  assert.deepEqual(changes.get("chg_a"), {
    request: {
      ...request("chg_a", "2026-01-01T00:00:00.000Z", { a: [{ b: 3, y: 2 }], z: 1 }),
      before: { k: "v" },
    },
    status: "applied",
    verdict: "require-human",
    reason: "always-require-human: v1 floor",
    decision: approve,
    appliedAt: "2026-01-03T00:00:00.000Z",
  });
  assert.equal(changes.isApplied("chg_a"), true);
});

Deno.test("change store put leaves an existing id untouched", () => {
  using dir = tempDir();
  using state = openTestState(dir.path);
  const changes = new ChangeStore(state);
  assert.equal(changes.put(pending(request("chg_a", "2026-01-01T00:00:00.000Z"))), true);
  changes.setDecision("chg_a", reject, "rejected");
  assert.equal(changes.put(pending(request("chg_a", "2026-01-05T00:00:00.000Z", ["other"]))), false);
  const stored = changes.get("chg_a");
  assert.equal(stored.status, "rejected");
  assert.deepEqual(stored.request.after, { tools: ["read_file"] });
});

Deno.test("change store lists pending by creation time then id, and history as every decided change", () => {
  using dir = tempDir();
  using state = openTestState(dir.path);
  const changes = new ChangeStore(state);
  for (
    const [id, at] of [["chg_c", "01"], ["chg_b", "02"], ["chg_a", "02"], ["chg_d", "03"], ["chg_e", "04"]]
  ) {
    changes.put(pending(request(id, `2026-01-${at}T00:00:00.000Z`)));
  }
  changes.setDecision("chg_d", reject, "rejected");
  changes.setDecision("chg_c", approve, "approved");
  changes.setDecision("chg_e", approve, "approved");
  changes.markApplied("chg_e");
  assert.deepEqual(changes.pending().map((r) => r.request.id), ["chg_a", "chg_b"]);
  assert.deepEqual(changes.history().map((r) => [r.request.id, r.status]), [
    ["chg_c", "approved"],
    ["chg_d", "rejected"],
    ["chg_e", "applied"],
  ]);
});

Deno.test("change store decisions are final and only approvals apply", () => {
  using dir = tempDir();
  using state = openTestState(dir.path);
  const changes = new ChangeStore(state);
  changes.put(pending(request("chg_a", "2026-01-01T00:00:00.000Z")));
  changes.put(pending(request("chg_b", "2026-01-01T00:00:00.000Z")));
  assert.throws(() => changes.setDecision("chg_a", approve, "rejected"), InvalidInputError);
  assert.throws(() => changes.markApplied("chg_a"), ConflictError);
  changes.setDecision("chg_a", reject, "rejected");
  assert.throws(() => changes.setDecision("chg_a", approve, "approved"), ConflictError);
  assert.throws(() => changes.markApplied("chg_a"), ConflictError);
  assert.throws(() => changes.setVerdict("chg_a", "pass", "late"), ConflictError);
  changes.setDecision("chg_b", approve, "approved");
  changes.markApplied("chg_b", "2026-01-03T00:00:00.000Z");
  changes.markApplied("chg_b", "2026-01-09T00:00:00.000Z");
  assert.equal(changes.get("chg_b").appliedAt, "2026-01-03T00:00:00.000Z");
  assert.equal(changes.isApplied("chg_a"), false);
});

Deno.test("change store rejects records whose status and decision disagree", () => {
  using dir = tempDir();
  using state = openTestState(dir.path);
  const changes = new ChangeStore(state);
  const req = request("chg_a", "2026-01-01T00:00:00.000Z");
  assert.throws(() => changes.put({ request: req, status: "approved" }), InvalidInputError);
  assert.throws(() => changes.put({ request: req, status: "pending", decision: approve }), InvalidInputError);
  assert.throws(() => changes.put({ request: req, status: "applied", decision: approve }), InvalidInputError);
  assert.throws(
    () => changes.put({ request: { ...req, id: "../x" } as ChangeRequest, status: "pending" }),
    InvalidInputError,
  );
  assert.equal(
    changes.put({ request: req, status: "applied", decision: approve, appliedAt: approve.decidedAt }),
    true,
  );
  assert.equal(changes.isApplied("chg_a"), true);
});

Deno.test("change store unknown ids are typed not-found errors", () => {
  using dir = tempDir();
  using state = openTestState(dir.path);
  const changes = new ChangeStore(state);
  assert.throws(() => changes.get("chg_missing"), NotFoundError);
  assert.throws(() => changes.setVerdict("chg_missing", "pass", "ok"), NotFoundError);
  assert.throws(() => changes.setDecision("chg_missing", approve, "approved"), NotFoundError);
  assert.throws(() => changes.markApplied("chg_missing"), NotFoundError);
  assert.equal(changes.isApplied("chg_missing"), false);
});
