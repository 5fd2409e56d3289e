/**
 * The `out-disk` wall: every path a sandbox can write (its outbound queue,
 * workspace, memory, Deno directory, /tmp, /dev/shm, and any other
 * read-write mount the probe finds) is bounded, so a hostile agent cannot
 * fill the host's disk. The probe fills each path through libc until a
 * write fails; the host watches the free space of the disk holding the
 * run's directories the whole time (a disk of the run's own where it can be
 * had, {@link mountRunDisk}: the host's is shared with other writers), and
 * the wall holds when it never fell by more than the run's volumes can hold
 * (they are sparse images that grow up to their size), every volume really
 * is size-limited, and no path took the probe's whole fill.
 *
 * @module
 */
import { ensureVolume, releaseVolume, SANDBOX_ENV, type Volume } from "../../isolator/mod.ts";
import { FreeSpaceWatch } from "./witnesses.ts";
import { VERIFY_VOLUME_BYTES } from "./stage.ts";
import type { WallKit } from "./wall_kit.ts";
import { decideWall, pickAttempts } from "./verdict.ts";

const MIB = 1024 * 1024;

/** What else may take the host's disk during a run (logs, the probe's report, filesystem metadata). */
export const DISK_SLACK_BYTES = 48 * MIB;

/** Bytes the probe writes into each path at most: well past the cap, so an unbounded path shows. */
export const FILL_BYTES_PER_PATH = VERIFY_VOLUME_BYTES + DISK_SLACK_BYTES + 144 * MIB;

/**
 * The sandbox's writable paths outside its layout, as the agent sees them
 * (the probe adds its layout's directories and its mount table's rw mounts).
 */
export const FILL_PATHS = ["/tmp", "/dev/shm", SANDBOX_ENV.DENO_DIR];

/** How many paths the probe fills at least: {@link FILL_PATHS} and outbound, workspace, memory, sockets. */
const EXPECTED_FILLS = FILL_PATHS.length + 4;

/** 1 GiB: the run's own disk (sparse), far more than a bounded run takes, so a full one is a finding. */
export const RUN_DISK_BYTES = 1024 * MIB;

/**
 * Puts the run's directories (`root`, freshly made and empty) on a disk of
 * their own: a sparse ext4 image loop-mounted on `root`, so its free space
 * moves only with what the run writes, not with every other writer of the
 * host's disk. Where loop mounts cannot be had, `root` stays on the host's
 * disk and the result says why. `defer` gets the unmount and the image's removal.
 */
export async function mountRunDisk(root: string, defer: (cleanup: () => unknown) => void): Promise<Volume> {
  const image = `${root}.disk.img`;
  defer(async () => {
    await releaseVolume(root);
    await Deno.remove(image).catch(() => {});
  });
  // Plain `loop`, like the host disk it stands for: runsc cannot bind-remount its bundle's rootfs read-only
  // inside its user namespace from a nosuid or nodev mount (the flags are locked there).
  return await ensureVolume({
    image,
    mountPoint: root,
    sizeBytes: RUN_DISK_BYTES,
    mode: 0o700,
    mountOptions: "loop",
  });
}

/** The `out-disk` wall kit. */
export const diskWalls: WallKit = {
  name: "disk",
  arm(run) {
    const watch = new FreeSpaceWatch(run.root);
    run.defer(() => watch.stop());
    const { workspace, memory, outbox } = run.stage;
    return {
      targets: { diskFill: { paths: FILL_PATHS, bytesPerPath: FILL_BYTES_PER_PATH } },
      decide(end) {
        watch.stop();
        const cap = VERIFY_VOLUME_BYTES + DISK_SLACK_BYTES;
        const drop = watch.largestDrop;
        const mib = (bytes: number) => `${Math.round(bytes / MIB)} MiB`;
        const breaches = [
          ...[workspace, memory, outbox].flatMap((v) =>
            v.limited ? [] : [`${v.mountPoint} is a plain host directory (${v.reason})`]
          ),
          ...(drop > cap
            ? [
              `the host's free disk space fell by ${mib(drop)}, more than the ${
                mib(cap)
              } the run's volumes allow`,
            ]
            : []),
        ];
        const where = run.disk.limited
          ? "the run's own disk"
          : `the host's disk, shared with every other writer (${run.disk.reason})`;
        return [
          decideWall("out-disk", {
            attempts: pickAttempts(end.report, "disk.fill:"),
            expected: EXPECTED_FILLS,
            breaches: breaches,
            heldNote: `every writable path filled until refused; the free space of ${where} fell by at most ${
              mib(Math.max(drop, 0))
            } (cap ${mib(cap)}: the run's size-limited volumes)`,
          }),
        ];
      },
    };
  },
};
