import assert from "node:assert/strict";
import type { SessionId } from "../contract/ids.ts";
import { ControlPlane, DEMO_AGENT_ID } from "../src/control_plane/mod.ts";
import { MASTER_KEY_FILE } from "../src/keys/mod.ts";
import { FakeIsolator } from "../tests/support/fake_isolator.ts";
import { LIBRARY, tempDir } from "../tests/support/mod.ts";
import { captureIo } from "./output.ts";
import { runCli } from "./program.ts";
import { servedFakePlane } from "../tests/support/served_plane.ts";

Deno.test("backup while serving, restore into a new directory: the audit chain verifies, the agent and its conversation are there", async () => {
  using out = tempDir("ironclaw-backup-");
  const file = `${out.path}/state.icbackup`;
  const restored = `${out.path}/restored`;
  let sessionId: SessionId;
  {
    await using s = await servedFakePlane();
    const sent = await s.plane.webChat.send({ agentGroupId: DEMO_AGENT_ID, text: "remember the blue door" });
    const routed = sent.outcomes.find((o) => o.sessionId);
    assert.ok(routed?.sessionId, JSON.stringify(sent.outcomes));
    sessionId = routed.sessionId;

    const io = captureIo();
    assert.equal(await runCli(["backup", "--out", file, ...s.flags], io), 0, io.stderr.join("\n"));
    assert.match(io.stdout[0], /^backup written to .*taken by the control plane at http/);
    assert.match(io.stdout[1], /NOT in the backup/); // dev plane: file custody, the plain master stays out
    // The plane keeps serving and auditing after the snapshot.
    await s.plane.gateway.submit({
      kind: "persona",
      agentGroupId: DEMO_AGENT_ID,
      requestedBy: "t",
      after: { soul: "x" },
    });

    const bytes = Deno.readFileSync(file);
    assert.ok(
      !new TextDecoder().decode(bytes).includes("remember the blue door"),
      "conversation in the clear",
    );

    // Refusals, each writing nothing: no master key for a file-custody backup, a corrupt file, a foreign file, a used target.
    const refuse = async (args: string[], pattern: RegExp) => {
      const r = captureIo();
      assert.equal(await runCli(["restore", ...args], r), 1);
      assert.match(r.stderr.join("\n"), pattern);
    };
    await refuse([file, "--state-dir", restored], /restore refused, nothing written: .*--master-key/);
    const corrupt = `${out.path}/corrupt`;
    const flipped = bytes.slice();
    flipped[flipped.length - 10] ^= 1;
    Deno.writeFileSync(corrupt, flipped);
    const master = ["--master-key", `${s.stateDir}/${MASTER_KEY_FILE}`];
    await refuse([corrupt, "--state-dir", restored, ...master], /does not match its checksum \(corrupt\)/);
    Deno.writeTextFileSync(`${out.path}/foreign`, "SQLite format 3\0 not ours");
    await refuse([`${out.path}/foreign`, "--state-dir", restored, ...master], /not an IronClaw backup/);
    await refuse([file, "--state-dir", s.stateDir, ...master], /is not empty/);
    assert.deepEqual([...Deno.readDirSync(out.path)].map((e) => e.name).sort(), [
      "corrupt",
      "foreign",
      "state.icbackup",
    ]);

    const r = captureIo();
    assert.equal(
      await runCli(["restore", file, "--state-dir", restored, ...master], r),
      0,
      r.stderr.join("\n"),
    );
  }

  const verify = captureIo();
  assert.equal(await runCli(["audit", "verify", "--offline", "--state-dir", restored], verify), 0);
  assert.match(verify.stdout[0], /^audit chain ok: .*\(matches the state database\)/);

  const plane = await ControlPlane.open({
    stateDir: restored,
    library: LIBRARY,
    isolator: new FakeIsolator(),
    agentProgram: Deno.execPath(),
  });
  try {
    assert.ok(plane.registry.listAgentGroups().some((g) => g.id === DEMO_AGENT_ID));
    assert.equal(await plane.queues.hasUnansweredWork(sessionId), true, "the conversation's message");
    assert.equal((await plane.audit.verify()).ok, true);
  } finally {
    await plane.close();
  }
});

Deno.test("backup with nothing serving takes the snapshot offline under the state directory's lock", async () => {
  using dir = tempDir("ironclaw-backup-offline-");
  const stateDir = `${dir.path}/state`;
  const plane = await ControlPlane.open({ stateDir, dev: true, library: LIBRARY });
  await plane.close();

  const io = captureIo();
  const file = `${dir.path}/offline.icbackup`;
  assert.equal(await runCli(["backup", "--out", file, "--state-dir", stateDir], io), 0, io.stderr.join("\n"));
  assert.match(io.stdout[0], /taken by .*\(offline: nothing was serving it\)$/);
  const again = captureIo();
  assert.equal(await runCli(["backup", "--out", file, "--state-dir", stateDir], again), 1);
  assert.match(again.stderr[0], /exists: choose a new --out/);

  const restored = `${dir.path}/restored`;
  const master = ["--master-key", `${stateDir}/${MASTER_KEY_FILE}`];
  assert.equal(await runCli(["restore", file, "--state-dir", restored, ...master], captureIo()), 0);
  const verify = captureIo();
  assert.equal(await runCli(["audit", "verify", "--offline", "--state-dir", restored], verify), 0);
  assert.match(verify.stdout[0], /\(matches the state database\)/);
});
