import assert from "node:assert/strict";
import type { AgentGroupId, ChangeRequest, Verifier } from "../../contract/mod.ts";
import { AuditLog, verifyAuditFile } from "../audit/mod.ts";
import { ChangeStore, ConflictError, NotFoundError, StateDb } from "../state/mod.ts";
import { fixedKey, LIBRARY, tempDir } from "../../tests/support/mod.ts";
import { Gateway, type GatewayDeps } from "./gateway.ts";
import { runChain } from "./chain.ts";

const G1 = "g1" as AgentGroupId;
const human: Verifier = {
  name: "always-require-human",
  verify: () => ({ verdict: "require-human", reason: "v1 floor" }),
};

async function open(dir: string, over: Partial<GatewayDeps> = {}) {
  const state = StateDb.open(dir, { library: LIBRARY, key: fixedKey(0x33) });
  const audit = await AuditLog.open(`${dir}/audit.jsonl`);
  const applied: string[] = [];
  const gateway = new Gateway({
    store: new ChangeStore(state),
    audit,
    verifiers: [human],
    apply: (req) => void applied.push(req.id),
    captureBefore: () => ({ tools: ["old"] }),
    ...over,
  });
  return { state, audit, gateway, applied, [Symbol.dispose]: () => state.close() };
}

Deno.test("mandatory approval: a change waits for a human, then applies exactly once", async () => {
  using dir = tempDir();
  using gw = await open(dir.path);
  const submitted = await gw.gateway.submit({
    id: "c1",
    kind: "wiring",
    agentGroupId: G1,
    requestedBy: "web:alice",
    after: { b: 1, a: [2] },
  });
  assert.equal(submitted.status, "pending");
  assert.deepEqual(gw.gateway.pending().map((r) => r.request.id), ["c1"]);
  assert.deepEqual(gw.applied, []);
  assert.deepEqual(submitted.request.before, { tools: ["old"] });
  const { record, applyError } = await gw.gateway.decide("c1", "approve", "web:bob");
  assert.equal(applyError, undefined);
  assert.equal(record.status, "applied");
  assert.deepEqual(gw.applied, ["c1"]);
  assert.deepEqual(gw.gateway.pending(), []);
  const stages = (await gw.audit.tail(10)).map((e) => `${e.stage}:${e.detail ?? ""}`);
  assert.deepEqual(stages, [
    "submit:web:alice",
    "verdict:require-human: always-require-human: v1 floor",
    "decision:approve by web:bob",
    "apply:",
  ]);
  const verified = await verifyAuditFile(gw.audit.path);
  assert.ok(verified.ok && verified.lines === 4, JSON.stringify(verified));
});

Deno.test("a reject short-circuits before the human and later verifiers", async () => {
  using dir = tempDir();
  let laterRan = false;
  const rejecter: Verifier = {
    name: "package-name",
    verify: () => ({ verdict: "reject", reason: "bad name" }),
  };
  const later: Verifier = { name: "later", verify: () => (laterRan = true, { verdict: "pass", reason: "" }) };
  using gw = await open(dir.path, { verifiers: [rejecter, later, human] });
  const record = await gw.gateway.submit({
    kind: "packages",
    agentGroupId: G1,
    requestedBy: "sandbox:s1",
    after: ["x;y"],
  });
  assert.equal(record.status, "rejected");
  assert.equal(record.decision?.decidedBy, "verifier");
  assert.equal(laterRan, false);
  assert.deepEqual(gw.applied, []);
  assert.deepEqual(gw.gateway.pending(), []);
  await assert.rejects(gw.gateway.decide(record.request.id, "approve", "web:bob"), ConflictError);
});

Deno.test("reject by a human; second decisions conflict; unknown ids are not found", async () => {
  using dir = tempDir();
  using gw = await open(dir.path);
  const { request } = await gw.gateway.submit({
    kind: "persona",
    agentGroupId: G1,
    requestedBy: "u",
    after: { soul: "calm" },
  });
  assert.equal((await gw.gateway.decide(request.id, "reject", "web:bob")).record.status, "rejected");
  await assert.rejects(gw.gateway.decide(request.id, "approve", "web:bob"), ConflictError);
  await assert.rejects(gw.gateway.decide("chg_nope", "approve", "web:bob"), NotFoundError);
  assert.deepEqual(gw.applied, []);
});

Deno.test("two racing approvals: exactly one lands", async () => {
  using dir = tempDir();
  using gw = await open(dir.path);
  const { request } = await gw.gateway.submit({
    kind: "wiring",
    agentGroupId: G1,
    requestedBy: "u",
    after: {},
  });
  const results = await Promise.allSettled([
    gw.gateway.decide(request.id, "approve", "a"),
    gw.gateway.decide(request.id, "approve", "b"),
  ]);
  assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
  assert.deepEqual(gw.applied, [request.id]);
});

Deno.test("a pending change survives a restart and can be approved after it", async () => {
  using dir = tempDir();
  let id: string;
  {
    using gw = await open(dir.path);
    id = (await gw.gateway.submit({
      kind: "enabled_tools",
      agentGroupId: G1,
      requestedBy: "u",
      after: ["read_file"],
    })).request.id;
  }
  using gw = await open(dir.path);
  assert.deepEqual(gw.gateway.pending().map((r) => r.request.id), [id]);
  assert.equal((await gw.gateway.decide(id, "approve", "web:bob")).record.status, "applied");
  assert.deepEqual(gw.applied, [id]);
  assert.deepEqual((await verifyAuditFile(`${dir.path}/audit.jsonl`)).ok, true);
});

Deno.test("a failed apply leaves the change approved; resume applies it once, idempotently", async () => {
  using dir = tempDir();
  let fail = true;
  let calls = 0;
  const apply = (_req: ChangeRequest) => {
    calls++;
    if (fail) throw new Error("disk on fire");
  };
  let id: string;
  {
    using gw = await open(dir.path, { apply });
    id =
      (await gw.gateway.submit({ kind: "mounts", agentGroupId: G1, requestedBy: "u", after: [] })).request.id;
    const result = await gw.gateway.decide(id, "approve", "web:bob");
    assert.equal(result.record.status, "approved");
    assert.equal(result.applyError, "disk on fire");
  }
  fail = false;
  using gw = await open(dir.path, { apply });
  assert.deepEqual(await gw.gateway.resume(), { applied: [id], failed: [] });
  assert.equal(gw.gateway.get(id).status, "applied");
  assert.deepEqual(await gw.gateway.resume(), { applied: [], failed: [] });
  assert.equal(calls, 2);
  const details = (await gw.audit.tail(10)).filter((e) => e.stage === "apply").map((e) => e.detail ?? "");
  assert.deepEqual(details, ["error: disk on fire", ""]);
});

Deno.test("resubmitting an existing id returns the stored record and runs nothing", async () => {
  using dir = tempDir();
  using gw = await open(dir.path);
  const first = await gw.gateway.submit({
    id: "dup",
    kind: "wiring",
    agentGroupId: G1,
    requestedBy: "a",
    after: { x: 1 },
  });
  const again = await gw.gateway.submit({
    id: "dup",
    kind: "persona",
    agentGroupId: G1,
    requestedBy: "b",
    after: { y: 2 },
  });
  assert.deepEqual(again, first);
  assert.equal((await gw.audit.tail(10)).filter((e) => e.stage === "submit").length, 1);
});

Deno.test("after is stored canonically (sorted keys)", async () => {
  using dir = tempDir();
  using gw = await open(dir.path);
  const { request } = await gw.gateway.submit({
    kind: "wiring",
    agentGroupId: G1,
    requestedBy: "a",
    after: { z: 1, a: { d: 1, c: 2 } },
  });
  assert.equal(JSON.stringify(gw.gateway.get(request.id).request.after), `{"a":{"c":2,"d":1},"z":1}`);
});

Deno.test("the chain: a throwing verifier rejects; the first human reason wins; pass otherwise", async () => {
  const req = { id: "c", kind: "wiring" } as unknown as ChangeRequest;
  const boom: Verifier = {
    name: "boom",
    verify: () => {
      throw new Error("kaput");
    },
  };
  const h2: Verifier = { name: "second", verify: () => ({ verdict: "require-human", reason: "me too" }) };
  const pass: Verifier = { name: "ok", verify: () => ({ verdict: "pass", reason: "" }) };
  assert.deepEqual(await runChain([human, boom], req), { verdict: "reject", reason: "boom: error: kaput" });
  assert.deepEqual(await runChain([pass, human, h2], req), {
    verdict: "require-human",
    reason: "always-require-human: v1 floor",
  });
  assert.deepEqual(await runChain([pass], req), { verdict: "pass", reason: "all verifiers passed" });
});
