import assert from "node:assert/strict";
import { SANDBOX_AGENT, SANDBOX_DENO } from "../../isolator/mod.ts";
import { tempDir } from "../../tests/support/mod.ts";
import type { HostProcess } from "./host_processes.ts";
import {
  chooseProbeProgram,
  PROBE_SOURCE,
  probeProcesses,
  ProbeProgramError,
  probeSpawnCandidates,
} from "./probe_program.ts";
import { verify } from "./run.ts";

/** A release directory: `ironclaw` and, unless `withProbe` is false, `ironclaw-probe` (mode `mode`). */
function release(dir: string, { withProbe = true, mode = 0o755 } = {}): { host: string; probe: string } {
  const host = `${dir}/ironclaw`;
  const probe = `${dir}/ironclaw-probe`;
  Deno.writeFileSync(host, new Uint8Array([0x7f, 0x45, 0x4c, 0x46]), { mode: 0o755 });
  if (withProbe) {
    Deno.writeFileSync(probe, new Uint8Array([0x7f, 0x45, 0x4c, 0x46]));
    Deno.chmodSync(probe, mode);
  }
  return { host, probe };
}

Deno.test("from source with nothing named, the probe is bundled and run by deno run with the agent's flags", () => {
  const probe = chooseProbeProgram({ standalone: false });
  assert.equal(probe.kind, "bundle");
  assert.equal(probe.executable, undefined);
  assert.equal(
    probe.description,
    `${PROBE_SOURCE} bundled with ${Deno.execPath()}, run by deno run with the agent's flags`,
  );
});

Deno.test("a compiled host runs the ironclaw-probe beside its own executable, directly", () => {
  using dir = tempDir();
  const { host, probe } = release(dir.path);
  const chosen = chooseProbeProgram({ standalone: true, hostExecutable: host });
  assert.equal(chosen.kind, "executable");
  assert.equal(chosen.executable, probe);
  assert.equal(
    chosen.description,
    `${probe} (the compiled probe, run directly like the compiled agent; found beside ${host})`,
  );
});

Deno.test("a compiled host without its probe fails in one line: where it looked, how to name another", () => {
  using dir = tempDir();
  const { host, probe } = release(dir.path, { withProbe: false });
  // The agent beside it does not stand in for the probe.
  Deno.writeFileSync(`${dir.path}/ironclaw-agent`, new Uint8Array([0x7f]), { mode: 0o755 });
  assert.throws(
    () => chooseProbeProgram({ standalone: true, hostExecutable: host }),
    new ProbeProgramError(
      `ironclaw-probe not found: looked for ${probe} beside ${host}; install the release's ironclaw-probe ` +
        "there, or name it with verify --probe-program PATH or $IRONCLAW_PROBE_PROGRAM",
    ),
  );
});

Deno.test("a named probe wins, from source and in a compiled host; it must be a file everyone may read and run", () => {
  using dir = tempDir();
  const { host } = release(dir.path);
  Deno.mkdirSync(`${dir.path}/other`);
  const { probe } = release(`${dir.path}/other`);
  const named = (executable: string, standalone: boolean) =>
    chooseProbeProgram({ executable, executableFrom: "--probe-program", standalone, hostExecutable: host });
  for (const standalone of [true, false]) {
    const chosen = named(probe, standalone);
    assert.equal(chosen.kind, "executable");
    assert.equal(chosen.executable, probe, "the named one, not the one beside the host");
    assert.equal(
      chosen.description,
      `${probe} (the compiled probe, run directly like the compiled agent; --probe-program)`,
    );
  }
  assert.throws(
    () => named(`${dir.path}/missing`, false),
    new ProbeProgramError(`probe program ${dir.path}/missing (--probe-program) does not exist`),
  );
  assert.throws(() => named(`${dir.path}/other`, true), /probe program .* \(--probe-program\) is not a file/);
  Deno.chmodSync(probe, 0o700);
  assert.throws(
    () => named(probe, false),
    new ProbeProgramError(
      `probe program ${probe} (--probe-program) must be readable and executable by everyone, since the ` +
        `sandbox's uid runs it: chmod 755 ${probe}`,
    ),
  );
});

Deno.test("spawn candidates: in executable mode the program itself, the one runtime its sandbox holds", () => {
  assert.deepEqual(probeSpawnCandidates("bundle", "/host/deno"), [
    "/bin/sh",
    "/usr/bin/sh",
    SANDBOX_DENO,
    "/host/deno",
  ]);
  const executable = probeSpawnCandidates("executable", "/host/ironclaw");
  assert.ok(executable.includes(SANDBOX_AGENT), executable.join(" "));
  assert.ok(executable.includes("/host/ironclaw"));
});

Deno.test("the probe's processes: a compiled probe is found by its own path, its launchers are not", () => {
  const p = (pid: number, ppid: number, comm: string, argv: string[]): HostProcess => ({
    pid,
    ppid,
    comm,
    argv,
  });
  const procs = [
    // bwrap outside and inside its namespaces: trusted launchers, whose command lines name the program's path.
    p(10, 1, "bwrap", ["bwrap", "--ro-bind", "/rel/ironclaw-probe", SANDBOX_AGENT, "--", "setpriv"]),
    p(11, 10, "bwrap", ["bwrap", "--ro-bind", "/rel/ironclaw-probe", SANDBOX_AGENT, "--", "setpriv"]),
    // setpriv exec'd the compiled probe: its own name, no Deno anywhere.
    p(12, 11, "ironclaw-agent", [SANDBOX_AGENT, "--layout={}", "--targets={}"]),
    p(13, 12, "ironclaw-agent", [SANDBOX_AGENT, "--layout={}", "--targets={}"]),
    p(20, 1, "deno", ["/opt/ironclaw/bin/deno", "run", "/opt/ironclaw/agent.js"]),
  ];
  assert.deepEqual(probeProcesses(procs, "executable").map((x) => x.pid).sort(), [12, 13, 20]);
  assert.deepEqual(probeProcesses(procs, "bundle").map((x) => x.pid), [20]);
});

Deno.test("verify runs a compiled probe only where the isolator runs it: the process backend refuses it", async () => {
  using dir = tempDir();
  const { probe } = release(dir.path);
  const chosen = chooseProbeProgram({ executable: probe, executableFrom: "--probe-program" });
  await assert.rejects(
    verify({ isolator: "process", probe: chosen, tmpDir: dir.path }),
    /^Error: isolator process is not available: .*ironclaw-probe/,
  );
  await assert.rejects(
    verify({ isolator: "process", probe: chosen, program: `${dir.path}/probe.js`, tmpDir: dir.path }),
    ProbeProgramError,
  );
});
