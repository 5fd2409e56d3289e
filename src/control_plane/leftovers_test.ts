import assert from "node:assert/strict";
import { createImage, mountPointsUnder, mountTmpfs, volumesUnavailable } from "../../isolator/mod.ts";
import { LIBRARY, tempDir } from "../../tests/support/mod.ts";
import { FakeIsolator } from "../../tests/support/fake_isolator.ts";
import { ControlPlane } from "./control_plane.ts";
import { planeKeyRoots } from "./leftovers.ts";

Deno.test({
  name: "the next start after a crash unmounts what the last run left mounted and removes its key copies",
  ignore: volumesUnavailable() !== undefined,
  fn: async () => {
    using dir = tempDir("ironclaw-leftovers-");
    const stateDir = dir.path;
    // What a SIGKILLed run leaves: a group volume and a scratch tmpfs mounted, key copies in both key roots.
    const image = `${stateDir}/sandbox/volumes/demo.outbox.img`;
    Deno.mkdirSync(`${stateDir}/sandbox/volumes`, { recursive: true });
    Deno.mkdirSync(`${stateDir}/sandbox/outbox/demo`, { recursive: true });
    await createImage(image, 8 * 1024 * 1024);
    const mount = new Deno.Command("mount", {
      args: ["-o", "loop", image, `${stateDir}/sandbox/outbox/demo`],
    });
    assert.ok((await mount.output()).success);
    await mountTmpfs(`${stateDir}/isolator/bundles/ses_a.deno-dir`, { sizeBytes: 1024 * 1024 });
    const roots = await planeKeyRoots(stateDir);
    for (const root of [roots.sandboxes, roots.process]) {
      Deno.mkdirSync(`${root}/ses_a`, { recursive: true });
      Deno.writeTextFileSync(`${root}/ses_a/session.key`, "00".repeat(32));
    }
    const real = Deno.realPathSync(stateDir);
    assert.equal(mountPointsUnder(real).length, 2);

    const plane = await ControlPlane.open({
      stateDir,
      dev: true,
      library: LIBRARY,
      isolator: new FakeIsolator(),
      agentProgram: Deno.execPath(),
    });
    try {
      assert.deepEqual(mountPointsUnder(real), [], "the last run's mounts are gone before anything runs");
      for (const root of [roots.sandboxes, roots.process]) assert.throws(() => Deno.statSync(root), root);
      // This run's own: a group's volumes, mounted for a session, are gone again after close.
      await plane.webChat.send({ agentGroupId: "demo", text: "hi" });
      assert.ok(mountPointsUnder(real).length >= 3);
    } finally {
      await plane.close();
    }
    assert.deepEqual(mountPointsUnder(real), []);
  },
});
