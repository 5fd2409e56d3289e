/**
 * The `out-disk` wall: every path a sandbox can write (its outbound queue,
 * workspace, memory, Deno directory, /tmp, /dev/shm, and any other
 * read-write mount the probe finds) is bounded, so a hostile agent cannot
 * fill the host's disk. The probe fills each path through libc until a
 * write fails; the host watches the free space of the disk holding the
 * run's directories the whole time, and the wall holds when it never fell by
 * more than the run's volumes can hold (they are sparse images that grow up
 * to their size) and every volume really is size-limited.
 *
 * @module
 */
import { SANDBOX_ENV } from "../../isolator/plan.ts";
import { FreeSpaceWatch } from "./observe.ts";
import { VERIFY_VOLUME_BYTES } from "./stage.ts";
import type { WallKit } from "./wall_kit.ts";
import { decideWall, pickAttempts } from "./walls.ts";

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
        return [decideWall(
          "out-disk",
          pickAttempts(end.report, "disk.fill:"),
          EXPECTED_FILLS,
          breaches,
          `every writable path filled until refused; the host's free disk space fell by at most ${
            mib(Math.max(drop, 0))
          } (cap ${mib(cap)}: the run's size-limited volumes)`,
        )];
      },
    };
  },
};
