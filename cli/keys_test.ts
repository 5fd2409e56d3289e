import assert from "node:assert/strict";
import { tempDir } from "../tests/support/mod.ts";
import { ControlPlane, DEMO_AGENT_ID } from "../src/control_plane/mod.ts";
import { SEALED_KEYS_FILE } from "../src/keys/mod.ts";
import { rotateMasterKey } from "./keys.ts";
import { captureIo } from "./output.ts";
import { runCli } from "./program.ts";

Deno.test("keys rotate re-wraps every key under a new master; the state still opens", async () => {
  using dir = tempDir();
  const plane = await ControlPlane.open({ stateDir: dir.path, dev: true });
  const before = plane.keys.fingerprint;
  await plane.close();
  const sealedBefore = Deno.readTextFileSync(`${dir.path}/${SEALED_KEYS_FILE}`);

  const io = captureIo();
  assert.equal(
    await runCli(["keys", "rotate", "--state-dir", dir.path, "--json"], io),
    0,
    io.stderr.join("\n"),
  );
  const report = JSON.parse(io.stdout.join("\n"));
  assert.equal(report.previousMaster, before);
  assert.notEqual(report.currentMaster, before);
  assert.equal(report.rewrapped, 1);
  assert.notEqual(Deno.readTextFileSync(`${dir.path}/${SEALED_KEYS_FILE}`), sealedBefore);

  // The encrypted state database opens with the re-wrapped key: the registry is intact.
  const again = await ControlPlane.open({ stateDir: dir.path });
  try {
    assert.equal(again.keys.fingerprint, report.currentMaster);
    assert.ok(again.registry.hasAgentGroup(DEMO_AGENT_ID));
  } finally {
    await again.close();
  }
});

Deno.test("keys rotate refuses a state directory in use, and one with no master key", async () => {
  using dir = tempDir();
  const plane = await ControlPlane.open({ stateDir: dir.path });
  try {
    const fingerprint = plane.keys.fingerprint;
    const io = captureIo();
    assert.equal(await runCli(["keys", "rotate", "--state-dir", dir.path], io), 1);
    assert.equal(io.stderr.length, 1);
    assert.match(io.stderr[0], /is in use by a running control plane \(pid \d+\): stop it, then rotate$/);
    // Nothing changed on disk.
    const reopened = JSON.parse(Deno.readTextFileSync(`${dir.path}/${SEALED_KEYS_FILE}`));
    assert.equal(reopened.master, fingerprint);
  } finally {
    await plane.close();
  }
  using empty = tempDir();
  await assert.rejects(rotateMasterKey(empty.path), /holds no host-master\.key: nothing to rotate/);
  assert.deepEqual([...Deno.readDirSync(empty.path)], []);
});
