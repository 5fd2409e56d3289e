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
import { isolators } from "../../isolator/select.ts";
import type { IsolatorKind } from "../../isolator/types.ts";
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
  "pids-limit",
  "memory-limit",
  "tmp-disk",
  "workspace-disk",
];

/**
 * What each backend does not provide, as measured. Under every backend the
 * agent can start the Deno binary it runs on through libc's posix_spawn (the
 * seccomp allowlist keeps execve), and /workspace is a host directory with
 * no quota. bwrap has no cgroups. The process backend is no sandbox: only
 * Deno's refusal to dlopen another library holds.
 */
const EXPECTED_FALLEN: Record<IsolatorKind, string[]> = {
  runsc: ["processes", "workspace-disk"],
  bwrap: ["processes", "pids-limit", "memory-limit", "workspace-disk"],
  process: ALL_WALLS.filter((w) => w !== "ffi-scope"),
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
      const result = await verify({ isolator: kind });
      assert.equal(result.isolator.kind, kind);
      assert.deepEqual(result.walls.map((w) => w.name), ALL_WALLS);
      const fallen = result.walls.filter((w) => !w.held).map((w) => w.name);
      assert.deepEqual(
        fallen,
        EXPECTED_FALLEN[kind],
        result.walls.map((w) => `${w.name}: ${w.held ? "held" : "FALLEN"} — ${w.detail}`).join("\n"),
      );
      // Every verdict carries its evidence.
      for (const wall of result.walls) assert.ok(wall.detail.length > 20, wall.name);
    },
  });
}
