/**
 * Parity §9.1 #8, "gateway mandatory approval", black-box over real HTTP: a
 * proposed change waits as pending and nothing is applied until a human
 * decides; the approval applies it exactly once; the audit log shows
 * submit, verdict, decision and apply, and its chain verifies.
 *
 * @module
 */
import assert from "node:assert/strict";
import { startApiServer } from "../../src/api/mod.ts";
import { ControlPlane } from "../../src/control_plane/mod.ts";
import { TEST_TOKEN } from "../support/api.ts";
import { LIBRARY, tempDir } from "../support/mod.ts";

/** A JSON client of the server at `base`. */
function client(base: string) {
  return async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${TEST_TOKEN}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    // deno-lint-ignore no-explicit-any
    return { status: response.status, body: await response.json() as any };
  };
}

Deno.test("parity: a change waits for a human, and only the approval applies it", async () => {
  using dir = tempDir();
  const plane = await ControlPlane.open({ stateDir: dir.path, dev: true, library: LIBRARY });
  const server = startApiServer(plane, { hostname: "127.0.0.1", port: 0, token: TEST_TOKEN });
  try {
    const api = client(server.url);
    const chat = await api("POST", "/v1/registry/messaging-groups", {
      channelType: "slack",
      platformId: "C1",
    });
    assert.equal(chat.status, 200);
    const wirings = async () =>
      (await api("GET", `/v1/registry/messaging-groups/${chat.body.id}/wirings`)).body;
    assert.deepEqual(await wirings(), []);

    // Submit: pending, nothing applied.
    const submitted = await api("POST", "/v1/changes", {
      id: "c1",
      kind: "wiring",
      agentGroupId: "demo",
      requestedBy: "agent:demo",
      after: { messagingGroupId: chat.body.id, engage: "mention" },
    });
    assert.equal(submitted.status, 202);
    assert.equal(submitted.body.status, "pending");
    assert.equal(submitted.body.verdict, "require-human");
    const pending = await api("GET", "/v1/changes/pending");
    assert.deepEqual(pending.body.map((r: { request: { id: string } }) => r.request.id), ["c1"]);
    assert.deepEqual(await wirings(), [], "nothing applied before a human decides");
    assert.deepEqual((await api("GET", "/v1/changes/history")).body, []);
    assert.deepEqual(
      (await api("GET", "/v1/audit")).body.map((e: { stage: string }) => e.stage),
      // The dev seed's three registry writes and the operator's new chat, then the change.
      ["registry", "registry", "registry", "registry", "submit", "verdict"],
      "no decision and no apply yet",
    );

    // Approve: applied exactly once, pending empty.
    const decided = await api("POST", "/v1/changes/c1/decision", {
      outcome: "approve",
      decidedBy: "web:operator",
    });
    assert.equal(decided.status, 200);
    assert.equal(decided.body.record.status, "applied");
    assert.equal(decided.body.applyError, undefined);
    assert.deepEqual((await api("GET", "/v1/changes/pending")).body, []);
    const applied = await wirings();
    assert.equal(applied.length, 1);
    assert.equal(applied[0].agentGroupId, "demo");
    assert.equal(applied[0].engageMode, "mention");
    const again = await api("POST", "/v1/changes/c1/decision", {
      outcome: "approve",
      decidedBy: "web:operator",
    });
    assert.equal(again.status, 409, "a decision is final");
    assert.equal((await wirings()).length, 1, "applied exactly once");

    // Audit: the four stages, in order, for c1, its registry write among them; the chain verifies.
    const all = (await api("GET", "/v1/audit")).body as {
      stage: string;
      changeId: string;
      detail?: string;
    }[];
    const audit = all.filter((e) => e.changeId === "c1");
    assert.deepEqual(audit.map((e) => [e.stage, e.changeId]), [
      ["submit", "c1"],
      ["verdict", "c1"],
      ["decision", "c1"],
      ["registry", "c1"],
      ["apply", "c1"],
    ]);
    assert.equal(audit[2].detail, "approve by web:operator");
    assert.match(audit[3].detail!, /^change c1 put-wiring wiring \S+: null → /);
    const verified = await api("GET", "/v1/audit/verify");
    assert.equal(verified.body.ok, true);
    assert.equal(verified.body.lines, all.length);
  } finally {
    await server.shutdown();
    await plane.close();
  }
});
