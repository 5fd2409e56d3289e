import assert from "node:assert/strict";
import { LIBRARY, tempDir } from "../../tests/support/mod.ts";
import { imageMountedAt, mountsAt, volumesUnavailable } from "../../isolator/mod.ts";
import { groupVolumeDirs } from "../sandbox/mod.ts";
import { CONSOLE_USER_ID, ControlPlane, DEMO_AGENT_ID, resolveApiToken, StateDirBusyError } from "./mod.ts";
import { openFakeSandboxPlane } from "../../tests/support/plane.ts";
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

Deno.test("dev seeding makes web:console a member of demo, once; a removed membership stays removed", async () => {
  using dir = tempDir();
  const plane = await ControlPlane.open({ stateDir: dir.path, dev: true });
  assert.equal(CONSOLE_USER_ID, "web:console");
  assert.deepEqual(plane.registry.listMembers(DEMO_AGENT_ID), [CONSOLE_USER_ID]);
  assert.equal(plane.registry.canAccess(CONSOLE_USER_ID, DEMO_AGENT_ID).allowed, true);
  plane.registry.removeMember(CONSOLE_USER_ID, DEMO_AGENT_ID);
  await plane.close();
  const again = await ControlPlane.open({ stateDir: dir.path, dev: true });
  assert.deepEqual(again.registry.listMembers(DEMO_AGENT_ID), []);
  await again.close();
});

Deno.test("a message from the console reaches a sandbox; an approved persona change respawns it", async () => {
  await using t = await openFakeSandboxPlane();
  const sent = await t.plane.webChat.send({ agentGroupId: DEMO_AGENT_ID, text: "hello" });
  assert.equal(sent.engaged, true, JSON.stringify(sent.outcomes));
  const sessionId = sent.outcomes[0].sessionId!;
  // The send is answered before the sandbox starts; a wake queues behind that start.
  await t.plane.waker.wake(sessionId);
  assert.equal(t.isolator.of(sessionId).length, 1);
  assert.ok(await t.plane.sandboxes.isRunning(sessionId));

  const change = await t.plane.gateway.submit({
    kind: "persona",
    agentGroupId: DEMO_AGENT_ID,
    requestedBy: "test",
    after: { soul: "changed" },
  });
  const { record } = await t.plane.gateway.decide(change.request.id, "approve", "test:human");
  assert.equal(record.status, "applied");
  const [first, second] = t.isolator.of(sessionId);
  assert.ok(first.stopped);
  assert.ok(second.spec.args?.some((a) => a.includes("changed")));
  assert.equal(t.plane.backoff.failures(sessionId), 0);
  assert.equal(t.isolator.of(sessionId).length, 2);
});

Deno.test("a shutdown during a start a send set off waits for it and stops its sandbox", async () => {
  await using t = await openFakeSandboxPlane();
  const launching = Promise.withResolvers<void>();
  const gate = Promise.withResolvers<void>();
  t.isolator.launchGate = () => {
    launching.resolve();
    return gate.promise;
  };
  const sent = await t.plane.webChat.send({ agentGroupId: DEMO_AGENT_ID, text: "hello" });
  assert.equal(sent.engaged, true, JSON.stringify(sent.outcomes));
  await launching.promise;
  const closing = t.plane.close();
  await new Promise((r) => setTimeout(r, 20));
  gate.resolve();
  await closing;
  const [launched] = t.isolator.of(sent.outcomes[0].sessionId!);
  assert.ok(launched, "the start under way reached the isolator");
  assert.ok(launched.stopped, "the sandbox it started was stopped by the shutdown");
});

Deno.test("a crashed sandbox is relaunched through the backoff; deleting its group stops it and forgets it", async () => {
  await using t = await openFakeSandboxPlane();
  const sent = await t.plane.webChat.send({ agentGroupId: DEMO_AGENT_ID, text: "hello" });
  const sessionId = sent.outcomes[0].sessionId!;
  await t.plane.waker.wake(sessionId);
  t.isolator.of(sessionId)[0].crash(1);
  // The crash counts as one failure; the relaunch waits out the first backoff step.
  while (t.plane.backoff.failures(sessionId) === 0) await new Promise((r) => setTimeout(r, 5));
  assert.equal(t.plane.backoff.failures(sessionId), 1);
  assert.deepEqual(t.plane.waker.deferred().map((d) => d.sessionId), [sessionId]);
  await t.plane.waker.wake(sessionId); // still backing off: deferred, not launched
  assert.equal(t.isolator.of(sessionId).length, 1);

  await t.plane.waker.stop(sessionId);
  await t.plane.waker.retryDeferred();
  assert.deepEqual(await t.plane.deleteAgentGroup(DEMO_AGENT_ID), [sessionId]);
  assert.equal(await t.plane.sandboxes.isRunning(sessionId), false);
  assert.deepEqual(t.plane.sandboxes.sessions(), []);
  assert.equal(t.plane.registry.listSessions().length, 0);
});

Deno.test({
  name: "a session's outbound queue lives on its group's outbox volume, within the quota, across a restart",
  ignore: volumesUnavailable() !== undefined,
  fn: async () => {
    await using t = await openFakeSandboxPlane();
    const sent = await t.plane.webChat.send({ agentGroupId: DEMO_AGENT_ID, text: "hello" });
    const sessionId = sent.outcomes[0].sessionId!;
    await t.plane.waker.wake(sessionId);
    const volume = groupVolumeDirs(`${t.stateDir}/sandbox`, DEMO_AGENT_ID);
    const out = t.plane.queues.paths(sessionId).outboundDir;
    assert.ok(imageMountedAt(volume.outboxImage, Deno.realPathSync(volume.outboxMount)));
    assert.equal(Deno.realPathSync(out), Deno.realPathSync(`${volume.outboxMount}/${sessionId}`));
    // The sandbox is given the directory on the volume, never host disk.
    assert.equal(t.isolator.of(sessionId)[0].spec.outboundDir, Deno.realPathSync(out));
    await t.plane.close();
    assert.equal(mountsAt(Deno.realPathSync(volume.outboxMount)).length, 0, "unmounted on close");

    const again = await ControlPlane.open({
      stateDir: t.stateDir,
      dev: true,
      library: LIBRARY,
      isolator: t.isolator,
      agentProgram: Deno.execPath(),
    });
    try {
      const reader = await again.queues.outboundReader(sessionId);
      assert.deepEqual(reader.processingAcks(), []);
      assert.ok(imageMountedAt(volume.outboxImage, Deno.realPathSync(volume.outboxMount)));
    } finally {
      await again.close();
    }
  },
});
