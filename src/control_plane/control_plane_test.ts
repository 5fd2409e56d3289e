import assert from "node:assert/strict";
import { tempDir } from "../../tests/support/mod.ts";
import { ControlPlane, DEMO_AGENT_ID, resolveApiToken, StateDirBusyError } from "./mod.ts";
import { sessionKeyId } from "../keys/mod.ts";
import type { SessionId } from "../../contract/ids.ts";

Deno.test("the control plane survives a restart with its registry, keys and pending changes", async () => {
  using dir = tempDir();
  const first = await ControlPlane.open({ stateDir: dir.path, dev: true });
  assert.ok(first.registry.hasAgentGroup(DEMO_AGENT_ID));
  const pending = await first.gateway.submit({
    kind: "persona",
    agentGroupId: DEMO_AGENT_ID,
    requestedBy: "test",
    after: { soul: "dry wit" },
  });
  const sessionKey = await first.keys.getOrCreate(sessionKeyId("ses_1" as SessionId));
  await assert.rejects(ControlPlane.open({ stateDir: dir.path }), StateDirBusyError);
  await first.close();

  const second = await ControlPlane.open({ stateDir: dir.path });
  try {
    assert.deepEqual(second.gateway.pending().map((r) => r.request.id), [pending.request.id]);
    assert.deepEqual(await second.keys.get(sessionKeyId("ses_1" as SessionId)), sessionKey);
    const { record } = await second.gateway.decide(pending.request.id, "approve", "test:human");
    assert.equal(record.status, "applied");
    assert.equal(second.registry.getAgentGroup(DEMO_AGENT_ID).personaDocs.soul, "dry wit");
    assert.match(second.metrics.render(), /ironclaw_gateway_decisions_total\{decision="approved"\} 1/);
    assert.deepEqual(second.readiness(), { ready: true });
  } finally {
    await second.close();
  }
  assert.equal(Deno.statSync(dir.path).mode! & 0o777, 0o700);
});

Deno.test("dev seeding happens once and keeps edits", async () => {
  using dir = tempDir();
  const plane = await ControlPlane.open({ stateDir: dir.path, dev: true });
  plane.registry.putAgentGroup({ id: DEMO_AGENT_ID, name: "Renamed" });
  await plane.close();
  const again = await ControlPlane.open({ stateDir: dir.path, dev: true });
  assert.equal(again.registry.getAgentGroup(DEMO_AGENT_ID).name, "Renamed");
  await again.close();
});

Deno.test("the API token is minted once (0600), then read back; the environment wins", async () => {
  using dir = tempDir();
  const minted = await resolveApiToken(dir.path, undefined);
  assert.equal(minted.source, "minted");
  assert.equal(Deno.statSync(`${dir.path}/api-token`).mode! & 0o777, 0o600);
  assert.deepEqual(await resolveApiToken(dir.path, undefined), { token: minted.token, source: "file" });
  assert.deepEqual(await resolveApiToken(dir.path, "x".repeat(20)), {
    token: "x".repeat(20),
    source: "environment",
  });
  await assert.rejects(resolveApiToken(dir.path, "short"), /at least 16/);
  Deno.chmodSync(`${dir.path}/api-token`, 0o644);
  await assert.rejects(resolveApiToken(dir.path, undefined), /api-token/);
});
