/**
 * `ironclaw verify` as a release runs it: the probe is a compiled executable
 * with the agent's flags baked in, which the isolator runs directly in the
 * sandbox, in place of the compiled agent and exactly like it (same binds,
 * seccomp, limits and uid; no Deno, bundle or module cache in the sandbox).
 * `deno compile` cannot run here, so the probe is a compiled-program
 * stand-in (`tests/support/compiled_standin.ts`): one executable carrying a
 * Deno runtime, the probe's bundle and the release's flags, which loads Deno
 * into its own process instead of exec'ing it, so it runs under runsc's
 * filter (no `execve`) as a compiled program does. The same walls must hold
 * as for the probe run from source (`tests/redteam/verify_test.ts`).
 */
import assert from "node:assert/strict";
import { captureIo } from "../../cli/output.ts";
import { runCli } from "../../cli/program.ts";
import { agentPermissionFlags, SANDBOX_LAYOUT } from "../../contract/permissions.ts";
import { type IsolatorKind, isolators, SANDBOX_AGENT } from "../../isolator/mod.ts";
import { PROBE_EXECUTABLE_NAME, probeProgram } from "../../src/verify/mod.ts";
import {
  buildCompiledStandin,
  canBuildCompiledStandin,
  compiledStandinFlags,
  releaseTarget,
} from "../support/compiled_standin.ts";
import { tempDir } from "../support/mod.ts";

/**
 * What each sandboxing backend does not provide, as measured for the probe
 * run from source (`tests/redteam/verify_test.ts`): gVisor holds every wall;
 * bwrap keeps `execve` and has no cgroups.
 */
const EXPECTED_FALLEN: Record<"runsc" | "bwrap", string[]> = {
  runsc: [],
  bwrap: ["processes", "pids-limit", "memory-limit"],
};

const stateDir = Deno.makeTempDirSync({ prefix: "ironclaw-verify-exe-check-" });
const available = Object.fromEntries(
  await Promise.all(
    Object.values(isolators({ stateDir })).map(async (i) => [i.kind, (await i.check()).ok] as const),
  ),
) as Record<IsolatorKind, boolean>;
Deno.removeSync(stateDir, { recursive: true });
const canBuild = await canBuildCompiledStandin();

/** Runs `ironclaw <args>` in-process. */
async function run(args: string[]) {
  const io = captureIo();
  const code = await runCli(args, io);
  return { code, stdout: io.stdout.join("\n"), stderr: io.stderr };
}

for (const kind of ["runsc", "bwrap"] as const) {
  Deno.test({
    name:
      `verify from a release under ${kind}: the compiled probe (stand-in) runs directly; exactly the expected walls fall`,
    ignore: !available[kind] || !canBuild,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      using dir = tempDir("ironclaw-verify-exe-");
      Deno.mkdirSync(`${dir.path}/release`);
      Deno.mkdirSync(`${dir.path}/state`);
      const probe = await buildCompiledStandin(`${dir.path}/release`, {
        target: releaseTarget(PROBE_EXECUTABLE_NAME),
        bundle: await probeProgram(`${dir.path}/bundle`),
      });
      // The probe starts with exactly what a compiled agent starts with.
      assert.deepEqual(compiledStandinFlags(probe), agentPermissionFlags(SANDBOX_LAYOUT));
      const out = await run([
        "verify",
        "--isolator",
        kind,
        "--probe-program",
        probe,
        "--state-dir",
        `${dir.path}/state`,
        "--json",
      ]);
      const json = JSON.parse(out.stdout);
      assert.deepEqual(json.probe, {
        mode: "executable",
        program: probe,
        description: `${probe} (the compiled probe, run directly like the compiled agent; --probe-program)`,
      });
      assert.equal(json.isolator, kind === "runsc" ? "runsc/ptrace" : "bwrap");
      const walls: { name: string; held: boolean; detail: string }[] = json.walls;
      const fallen = walls.filter((w) => !w.held).map((w) => w.name);
      assert.deepEqual(
        fallen,
        EXPECTED_FALLEN[kind],
        walls.map((w) => `${w.name}: ${w.held ? "held" : "FALLEN"} — ${w.detail}`).join("\n"),
      );
      assert.equal(out.code, fallen.length ? 1 : 0, out.stderr.join("\n"));
      const detail = (name: string) => walls.find((w) => w.name === name)!.detail;
      // The probe attacked the program file the sandbox runs (a compiled program's Deno.mainModule names a
      // file inside its binary), and the host found that file unchanged.
      assert.match(detail("agent-program"), /^the agent program file is unchanged; 2 attempt\(s\) refused/);
      assert.ok(
        detail("agent-program").includes(`Requires write access to "${SANDBOX_AGENT}"`),
        detail("agent-program"),
      );
      if (kind === "bwrap") {
        // The host saw the probe's process under the program's own name (no deno), and read its namespace.
        assert.match(detail("network-interfaces"), /\(ironclaw-agent \d+\) see only lo/);
      }
    },
  });
}
