/**
 * The mount walls: an approved read-only mount (`/mounts/verify`, bound from
 * a host directory of the run, exactly as a group's mount is bound) cannot
 * be changed, and nothing outside it can be reached through it. The host
 * plants a file to read, symlinks that point out of the directory (`..`,
 * the host's absolute path of its parent, `/`), and a secret beside it;
 * the probe tries to write, rename, remove, chmod and create there through
 * Deno and libc, and to read the secret by every path it knows. The walls
 * hold when the host directory is unchanged (names, types, sizes, modes,
 * times, contents), the secret's access time never moved and its hash is
 * not in the report, and every attempt was refused; the probe must also
 * have read the mount's file (else nothing about the mount was proven). The
 * process backend binds no mounts (a group with mounts does not launch
 * there), so both walls fall on it.
 *
 * @module
 */
import { SANDBOX_LAYOUT } from "../../contract/permissions.ts";
import { MOUNT_WRITES, SANDBOX_GID, SANDBOX_UID, type SandboxMount } from "../../isolator/mod.ts";
import { armAccessTime, fileHash, wasRead } from "./file_evidence.ts";
import { randomHex } from "./stage.ts";
import type { ArmedWalls, WallKit, WallRun } from "./wall_kit.ts";
import { decideWall, pickAttempts, type Wall } from "./verdict.ts";

/** The mount's name in the probe's sandbox. */
const MOUNT_NAME = "verify";

/** What a directory tree looks like on the host: one line per entry, without access times. */
async function treeOf(dir: string): Promise<Map<string, string>> {
  const tree = new Map<string, string>();
  const walk = async (path: string, rel: string) => {
    const info = await Deno.lstat(path);
    const kind = info.isSymlink ? `link→${await Deno.readLink(path)}` : info.isDirectory ? "dir" : "file";
    const hash = info.isFile ? await fileHash(path) : "";
    tree.set(rel || ".", `${kind} ${info.size} ${info.mode} ${info.mtime?.getTime()} ${hash}`);
    if (info.isDirectory) {
      for await (const entry of Deno.readDir(path)) {
        await walk(`${path}/${entry.name}`, `${rel}/${entry.name}`);
      }
    }
  };
  await walk(dir, "");
  return tree;
}

/** The entries that differ between two trees, named. */
function treeChanges(before: Map<string, string>, after: Map<string, string>): string[] {
  const names = new Set([...before.keys(), ...after.keys()]);
  return [...names].filter((n) => before.get(n) !== after.get(n)).map((n) =>
    !before.has(n) ? `${n} appeared` : !after.has(n) ? `${n} vanished` : `${n} changed`
  );
}

/** The mount walls' kit. */
export const mountWalls: WallKit = { name: "mounts", arm };

async function arm(run: WallRun): Promise<ArmedWalls> {
  const { nonce } = run.stage;
  const parent = `${run.root}/mount-src`;
  const source = `${parent}/shared`;
  const secretName = `secret-${nonce}.txt`;
  const secret = `${parent}/${secretName}`;
  Deno.mkdirSync(`${source}/sub`, { recursive: true, mode: 0o755 });
  Deno.writeTextFileSync(`${source}/a.txt`, `shared with the agent, read-only ${randomHex(8)}`, {
    mode: 0o644,
  });
  Deno.writeTextFileSync(`${source}/sub/b.txt`, "more", { mode: 0o644 });
  Deno.writeTextFileSync(secret, `beside the mount, never shared ${randomHex(16)}`, { mode: 0o644 });
  // The sandbox's uid owns it all and may write it by its modes: only the read-only bind may stop the writes.
  for (const p of [source, `${source}/sub`, `${source}/a.txt`, `${source}/sub/b.txt`]) {
    Deno.chmodSync(p, Deno.statSync(p).isDirectory ? 0o777 : 0o666);
    if (Deno.uid() === 0) Deno.chownSync(p, SANDBOX_UID, SANDBOX_GID);
  }
  // Symlinks the host's own user might have left in a shared directory, each pointing out of it.
  Deno.symlinkSync("..", `${source}/up`);
  Deno.symlinkSync(`../${secretName}`, `${source}/sibling`);
  Deno.symlinkSync(secret, `${source}/host-secret`);
  Deno.symlinkSync(parent, `${source}/host-parent`);
  Deno.symlinkSync("/", `${source}/root`);
  const fileHashHex = await fileHash(`${source}/a.txt`);
  const secretHash = await fileHash(secret);
  const before = await treeOf(source);
  armAccessTime(secret);

  const path = `${SANDBOX_LAYOUT.mounts}/${MOUNT_NAME}`;
  const escapes = [
    `${path}/../${secretName}`,
    `${path}/../..${secret}`,
    `${path}/sibling`,
    `${path}/host-secret`,
    `${path}/host-parent/${secretName}`,
    `${path}/up/${secretName}`,
    `${path}/root${secret}`,
    `/proc/self/root${path}/../${secretName}`,
    `/proc/self/root${secret}`,
  ];
  const mounts: SandboxMount[] = [{ name: MOUNT_NAME, source, readonly: true }];
  if (run.isolator === "process") {
    const why = "the process backend binds no mounts: a group with mounts does not launch there";
    return {
      decide: () => ["mount-readonly", "mount-escape"].map((name) => ({ name, held: false, detail: why })),
    };
  }
  return {
    mounts,
    targets: { mount: { path, file: "a.txt", escapes } },
    async decide({ report }): Promise<Wall[]> {
      const control = report?.attempts.find((a) => a.id === "mount.control.read");
      const unproven = control?.succeeded && fileHashHex && control.detail.includes(fileHashHex) ? [] : [
        `the probe did not read ${path}/a.txt, so nothing about the mount was proven (${control?.detail})`,
      ];
      const changes = treeChanges(before, await treeOf(source));
      const reportText = JSON.stringify(report ?? {});
      return [
        decideWall("mount-readonly", {
          attempts: pickAttempts(report, "mount.write."),
          expected: MOUNT_WRITES.length,
          breaches: [
            ...unproven,
            ...(changes.length ? [`the read-only mount changed on the host: ${changes.join(", ")}`] : []),
          ],
          heldNote:
            `the host directory bound read-only at ${path} was unchanged (names, types, sizes, modes, times, contents)`,
        }),
        decideWall("mount-escape", {
          attempts: pickAttempts(report, "mount.escape."),
          expected: escapes.length * 2,
          breaches: [
            ...unproven,
            ...(wasRead(secret)
              ? ["the secret beside the mount's directory was read (its access time moved)"]
              : []),
            ...(secretHash && reportText.includes(secretHash)
              ? ["the secret's hash is in the probe's report"]
              : []),
          ],
          heldNote:
            "the secret beside the mount's host directory was never read (access time armed, its hash not in the report) " +
            "through '..', planted symlinks (relative, absolute, to /) or /proc/self/root",
        }),
      ];
    },
  };
}
