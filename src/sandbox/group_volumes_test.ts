import assert from "node:assert/strict";
import { imageMountedAt, mountsAt, volumesUnavailable } from "../../isolator/mod.ts";
import { tempDir } from "../../tests/support/mod.ts";
import { GroupVolumes } from "./group_volumes.ts";
import { groupVolumeDirs, sessionDirs } from "./session_dirs.ts";

const MIB = 1024 * 1024;
const SIZES = { workspaceBytes: 16 * MIB, memoryBytes: 8 * MIB, outboxBytes: 8 * MIB };

Deno.test({
  name: "a group's workspace and memory volumes are mounted once, shared by its sessions, unmounted on close",
  ignore: volumesUnavailable() !== undefined,
  fn: async () => {
    using dir = tempDir();
    const root = `${dir.path}/sandbox`;
    const volumes = new GroupVolumes(root, SIZES, { mode: 0o711 });
    try {
      const [a, b] = await Promise.all([volumes.ensure("g1"), volumes.ensure("g1")]);
      assert.equal(a, b, "concurrent launches of one group share one mount");
      assert.ok(a.workspace.limited && a.memory.limited && a.outbox.limited);
      const paths = groupVolumeDirs(root, "g1");
      assert.ok(imageMountedAt(paths.workspaceImage, Deno.realPathSync(paths.workspaceMount)));
      assert.ok(imageMountedAt(paths.memoryImage, Deno.realPathSync(paths.memoryMount)));
      assert.ok(imageMountedAt(paths.outboxImage, Deno.realPathSync(paths.outboxMount)));
      // Sessions' workspaces are directories on the group's volume; memory is the volume itself.
      const s1 = sessionDirs(root, "s1", "g1");
      assert.equal(s1.workspaceDir, `${paths.workspaceMount}/s1`);
      assert.equal(s1.memoryDir, paths.memoryMount);
      await volumes.ensure("g2");
      assert.equal(mountsAt(Deno.realPathSync(groupVolumeDirs(root, "g2").workspaceMount)).length, 1);
      // The per-person and per-session memory partitions: a fourth image, mounted only when asked for.
      assert.throws(() => Deno.statSync(paths.partitionedMemoryImage), Deno.errors.NotFound);
      const partitioned = await volumes.ensurePartitioned("g1");
      assert.ok(partitioned.limited);
      assert.ok(
        imageMountedAt(paths.partitionedMemoryImage, Deno.realPathSync(paths.partitionedMemoryMount)),
      );
      assert.equal(await volumes.ensurePartitioned("g1"), partitioned);
    } finally {
      await volumes.close();
    }
    for (const group of ["g1", "g2"]) {
      const paths = groupVolumeDirs(root, group);
      assert.equal(mountsAt(Deno.realPathSync(paths.workspaceMount)).length, 0, group);
      assert.equal(mountsAt(Deno.realPathSync(paths.memoryMount)).length, 0, group);
      assert.equal(mountsAt(Deno.realPathSync(paths.outboxMount)).length, 0, group);
    }
    assert.equal(mountsAt(Deno.realPathSync(groupVolumeDirs(root, "g1").partitionedMemoryMount)).length, 0);

    // After a crash (mounted, never closed) a new instance takes the mounts over, and the data is there.
    const crashed = new GroupVolumes(root, SIZES, { mode: 0o711 });
    const first = await crashed.ensure("g1");
    Deno.writeTextFileSync(`${first.memory.mountPoint}/note.md`, "kept");
    const restarted = new GroupVolumes(root, SIZES, { mode: 0o711 });
    try {
      const again = await restarted.ensure("g1");
      assert.ok(again.workspace.limited && again.workspace.reused);
      assert.ok(again.memory.limited && again.memory.reused);
      assert.equal(Deno.readTextFileSync(`${again.memory.mountPoint}/note.md`), "kept");
      assert.equal(mountsAt(Deno.realPathSync(again.memory.mountPoint)).length, 1);
    } finally {
      await restarted.close();
    }
    assert.equal(mountsAt(Deno.realPathSync(groupVolumeDirs(root, "g1").memoryMount)).length, 0);
  },
});

Deno.test("with quotas turned off the directories are plain, and the reason is carried", async () => {
  using dir = tempDir();
  const volumes = new GroupVolumes(`${dir.path}/sandbox`, false, { mode: 0o700 });
  const group = await volumes.ensure("g1");
  assert.equal(group.workspace.limited, false);
  assert.ok(!group.memory.limited && /turned off/.test(group.memory.reason));
  assert.ok(Deno.statSync(group.workspace.mountPoint).isDirectory);
  assert.equal(mountsAt(Deno.realPathSync(group.workspace.mountPoint)).length, 0);
  await volumes.close();
});
