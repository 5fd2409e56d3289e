/**
 * The escape battery against every backend that runs here: the adversarial
 * probe, launched exactly like an agent, tries every way out; the host
 * decides each wall from its own evidence. Each backend's expected set of
 * fallen walls is asserted exactly, so a wall that starts falling (or one a
 * backend newly provides) fails the test.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type IsolatorKind, isolators, volumesUnavailable } from "../../isolator/mod.ts";
import { verify } from "../../src/verify/mod.ts";

const ALL_WALLS = [
  "network-tcp",
  "network-udp-dns",
  "network-listen",
  "network-interfaces",
  "host-files",
  "inbound-readonly",
  "rootfs-readonly",
  "agent-program",
  "own-config",
  "processes",
  "ffi-scope",
  "environment",
  "signals-ptrace",
  "model-proxy-identity",
  "pids-limit",
  "memory-limit",
  "tmp-disk",
  "workspace-disk",
  "key-custody",
  "out-disk",
  "egress-ssrf",
  "egress-vault-secret",
  "mcp-ungranted",
  "mount-readonly",
  "mount-escape",
  "spare-before-claim",
  "spare-after-claim",
  "audit-keyed",
];

/**
 * What each backend does not provide, as measured. gVisor holds every wall:
 * its seccomp profile lets the agent make threads but no process (clone only
 * with CLONE_THREAD, no fork, vfork, clone3 or execve), and /workspace is a
 * size-limited ext4 volume. bwrap must keep execve (its filter is loaded
 * before it execs setpriv, which execs Deno), so the agent can replace
 * itself with another program, and it has no cgroups. The process backend is
 * no sandbox: only Deno's refusal to dlopen another library holds, and the
 * workspace volume, where the host can loop-mount one (as root). Warm
 * spares are booted under runsc and bwrap only: elsewhere their walls are not
 * proven, which fails like a fallen wall.
 */
const volumes = volumesUnavailable() === undefined;
const EXPECTED_FALLEN: Record<"runsc" | "bwrap" | "process", string[]> = {
  runsc: [],
  bwrap: ["processes", "pids-limit", "memory-limit"],
  // key-custody, audit-keyed and the egress and MCP brokers' walls are the host's own: no backend changes them.
  process: ALL_WALLS.filter((w) =>
    w !== "ffi-scope" && w !== "key-custody" && w !== "audit-keyed" && !w.startsWith("egress-") &&
    !w.startsWith("mcp-") &&
    !(volumes && w === "workspace-disk")
  ),
};

const stateDir = Deno.makeTempDirSync({ prefix: "ironclaw-redteam-" });
const available = Object.fromEntries(
  await Promise.all(
    Object.values(isolators({ stateDir })).map(async (i) => [i.kind, (await i.check()).ok] as const),
  ),
) as Record<IsolatorKind, boolean>;
Deno.removeSync(stateDir, { recursive: true });

for (const kind of ["runsc", "bwrap", "process"] as const) {
  Deno.test({
    name: `escape battery under ${kind}: exactly the expected walls fall`,
    ignore: !available[kind],
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      // The run's own temporary root (short: unix socket paths under it have a length limit); another verify
      // running meanwhile (the suite is parallel) has its own, so only this run's mounts are looked for.
      const tmpDir = Deno.makeTempDirSync({ prefix: "rt" });
      const result = await verify({ isolator: kind, tmpDir });
      assert.equal(result.isolator.kind, kind);
      assert.deepEqual(result.walls.map((w) => w.name), ALL_WALLS);
      const fallen = result.walls.filter((w) => !w.held).map((w) => w.name);
      assert.deepEqual(
        fallen,
        EXPECTED_FALLEN[kind],
        result.walls.map((w) => `${w.name}: ${w.held ? "held" : "FALLEN"} — ${w.detail}`).join("\n"),
      );
      // No loop mount of the run is left behind.
      assert.ok(
        !Deno.readTextFileSync("/proc/self/mountinfo").includes(`${tmpDir}/`),
        "a mount of the run is left",
      );
      Deno.removeSync(tmpDir, { recursive: true });
      // Every verdict carries its evidence.
      for (const wall of result.walls) assert.ok(wall.detail.length > 20, wall.name);
    },
  });
}
