import assert from "node:assert/strict";
import {
  DEFAULT_TOOLS,
  ensureVolume,
  imageMountedAt,
  MIN_VOLUME_BYTES,
  mountsAt,
  releaseVolume,
  VolumeError,
  volumesUnavailable,
} from "./volume.ts";

const MIB = 1024 * 1024;
const unavailable = volumesUnavailable();

/** A temporary directory whose mounts are released before it is removed. */
function scratch() {
  const path = Deno.makeTempDirSync({ prefix: "ironclaw-volume-" });
  return {
    path,
    async [Symbol.asyncDispose]() {
      for (const name of ["mnt", "other"]) await releaseVolume(`${path}/${name}`).catch(() => {});
      Deno.removeSync(path, { recursive: true });
    },
  };
}

Deno.test({
  name: "a volume is a sparse ext4 image, mounted nosuid,nodev,noexec, full at its size, reused, released",
  ignore: unavailable !== undefined,
  fn: async () => {
    await using dir = scratch();
    const spec = {
      image: `${dir.path}/ws.img`,
      mountPoint: `${dir.path}/mnt`,
      sizeBytes: 16 * MIB,
      mode: 0o711,
    };
    const first = await ensureVolume(spec);
    assert.ok(first.limited);
    assert.equal(first.reused, false);
    assert.equal(first.sizeBytes, 16 * MIB);
    // Sparse: far fewer blocks allocated than the size.
    assert.ok(Deno.statSync(spec.image).blocks! * 512 < 8 * MIB);
    const [mount] = mountsAt(Deno.realPathSync(spec.mountPoint));
    assert.equal(mount.fsType, "ext4");
    for (const option of ["nosuid", "nodev", "noexec", "rw"]) {
      assert.ok(mount.options.includes(option), option);
    }
    assert.ok(imageMountedAt(spec.image, Deno.realPathSync(spec.mountPoint)));
    assert.equal(Deno.statSync(spec.mountPoint).mode! & 0o777, 0o711);
    assert.deepEqual([...Deno.readDirSync(spec.mountPoint)], [], "no lost+found for the agent to trip over");

    // Writing past the size fails with ENOSPC, and the host file never grows beyond it.
    const chunk = new Uint8Array(MIB).fill(7);
    let written = 0;
    const file = `${spec.mountPoint}/fill`;
    assert.throws(() => {
      for (;;) {
        Deno.writeFileSync(file, chunk, { append: true });
        written += MIB;
      }
    }, (err: Error) => /No space left|ENOSPC|os error 28/.test(err.message));
    assert.ok(written >= 8 * MIB && written < 16 * MIB, `wrote ${written / MIB} MiB`);
    assert.equal(Deno.statSync(spec.image).size, 16 * MIB);

    // Mounted again (a second session, or a restart after a crash): reused, nothing mounted twice.
    const again = await ensureVolume(spec);
    assert.ok(again.limited && again.reused);
    assert.equal(mountsAt(Deno.realPathSync(spec.mountPoint)).length, 1);

    // Released, and mounted afresh: the data survived, and the size is kept.
    await releaseVolume(spec.mountPoint);
    assert.equal(mountsAt(Deno.realPathSync(spec.mountPoint)).length, 0);
    assert.throws(() => Deno.statSync(file), Deno.errors.NotFound);
    const remounted = await ensureVolume({ ...spec, sizeBytes: 64 * MIB });
    assert.ok(remounted.limited && !remounted.reused);
    assert.equal(remounted.sizeBytes, 16 * MIB);
    assert.equal(Deno.statSync(file).size, written);
    await releaseVolume(spec.mountPoint);
    await releaseVolume(spec.mountPoint); // idempotent
  },
});

Deno.test({
  name: "a mount point that holds another filesystem is refused, not mounted over",
  ignore: unavailable !== undefined,
  fn: async () => {
    await using dir = scratch();
    const other = await ensureVolume({
      image: `${dir.path}/other.img`,
      mountPoint: `${dir.path}/mnt`,
      sizeBytes: MIN_VOLUME_BYTES,
    });
    assert.ok(other.limited);
    await assert.rejects(
      ensureVolume({ image: `${dir.path}/ws.img`, mountPoint: `${dir.path}/mnt`, sizeBytes: 16 * MIB }),
      VolumeError,
    );
    await assert.rejects(
      ensureVolume({ image: `${dir.path}/tiny.img`, mountPoint: `${dir.path}/other`, sizeBytes: MIB }),
      /at least/,
    );
  },
});

Deno.test("without the tools (or root, or loop devices) the directory stays plain, and says why", async () => {
  await using dir = scratch();
  const tools = { ...DEFAULT_TOOLS, mkfs: `${dir.path}/no-mkfs` };
  const volume = await ensureVolume(
    { image: `${dir.path}/ws.img`, mountPoint: `${dir.path}/mnt`, sizeBytes: 16 * MIB },
    tools,
  );
  assert.equal(volume.limited, false);
  assert.ok(!volume.limited && volume.reason.length > 10);
  if (Deno.uid() === 0) assert.match(volume.reason, /no-mkfs is not installed/);
  else assert.match(volume.reason, /need root/);
  assert.ok(Deno.statSync(`${dir.path}/mnt`).isDirectory);
  assert.throws(() => Deno.statSync(`${dir.path}/ws.img`), Deno.errors.NotFound);
  const noLoop = volumesUnavailable({ ...DEFAULT_TOOLS, loopControl: `${dir.path}/loop-control` });
  assert.match(noLoop!, Deno.uid() === 0 ? /no loop devices/ : /need root/);
});
