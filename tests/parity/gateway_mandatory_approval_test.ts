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
import { answered, okBody, TEST_TOKEN, typedApi } from "../support/api.ts";
import { LIBRARY, tempDir } from "../support/mod.ts";

Deno.test("parity: a change waits for a human, and only the approval applies it", async () => {
  using dir = tempDir();
  const plane = await ControlPlane.open({ stateDir: dir.path, dev: true, library: LIBRARY });
  const server = startApiServer(plane, { hostname: "127.0.0.1", port: 0, token: TEST_TOKEN });
  try {
    const api = typedApi(server.url);
    const chat = await answered(
      api.v1.registry["messaging-groups"].$post({ json: { channelType: "slack", platformId: "C1" } }),
    );
    assert.equal(chat.status, 200);
    const chatId = chat.body.id;
    const wirings = () =>
      okBody(api.v1.registry["messaging-groups"][":id"].wirings.$get({ param: { id: chatId } }));
    assert.deepEqual(await wirings(), []);

    // Submit: pending, nothing applied.
    const submitted = await answered(api.v1.changes.$post({
      json: {
        id: "c1",
        kind: "wiring",
        agentGroupId: "demo",
        requestedBy: "agent:demo",
        after: { messagingGroupId: chatId, engage: "mention" },
      },
    }));
    assert.equal(submitted.status, 202);
    assert.equal(submitted.body.status, "pending");
    assert.equal(submitted.body.verdict, "require-human");
    const pending = await okBody(api.v1.changes.pending.$get());
    assert.deepEqual(pending.map((r) => r.request.id), ["c1"]);
    assert.deepEqual(await wirings(), [], "nothing applied before a human decides");
    assert.deepEqual(await okBody(api.v1.changes.history.$get()), []);
    assert.deepEqual(
      (await okBody(api.v1.audit.$get({ query: {} }))).map((e) => e.stage),
      // The dev seed's three registry writes and the operator's new chat, then the change.
      ["registry", "registry", "registry", "registry", "submit", "verdict"],
      "no decision and no apply yet",
    );

    // Approve: applied exactly once, pending empty.
    const decide = () =>
      answered(api.v1.changes[":id"].decision.$post({
        param: { id: "c1" },
        json: { outcome: "approve", decidedBy: "web:operator" },
      }));
    const decided = await decide();
    assert.equal(decided.status, 200);
    assert.equal(decided.body.record.status, "applied");
    assert.equal(decided.body.applyError, undefined);
    assert.deepEqual(await okBody(api.v1.changes.pending.$get()), []);
    const applied = await wirings();
    assert.equal(applied.length, 1);
    assert.equal(applied[0].agentGroupId, "demo");
    assert.equal(applied[0].engageMode, "mention");
    const again = await decide();
    assert.equal(again.status, 409, "a decision is final");
    assert.equal((await wirings()).length, 1, "applied exactly once");

    // Audit: the four stages, in order, for c1, its registry write among them; the chain verifies.
    const all = await okBody(api.v1.audit.$get({ query: {} }));
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
    const verified = await okBody(api.v1.audit.verify.$get());
    assert.ok(verified.ok);
    assert.equal(verified.lines, all.length);
  } finally {
    await server.shutdown();
    await plane.close();
  }
});
