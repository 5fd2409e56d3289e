/**
 * The compiled agent (`ironclaw-agent`) as each backend runs it: the plan
 * (command line, binds, rootfs) against the bundle's, the smoke check's
 * verdicts, the process backend's refusal, and real launches under runsc and
 * bwrap of a small C program that reports what it sees from inside the
 * sandbox. The real agent run this way, end to end, is in
 * `tests/e2e/agent_executable_test.ts`.
 */
import assert from "node:assert/strict";
import { AGENT_RUNTIME_FLAGS, agentPermissionFlags, SANDBOX_LAYOUT } from "../contract/permissions.ts";
import { probeSession } from "../tests/support/isolator_harness.ts";
import { tempDir } from "../tests/support/mod.ts";
import { bwrapArgs, BwrapIsolator, bwrapSession } from "./bwrap.ts";
import { LaunchError } from "./errors.ts";
import { ociConfig, type OciMount, writeBundle } from "./oci.ts";
import {
  type BindMount,
  LAYOUT_FLAG,
  SANDBOX_AGENT,
  SANDBOX_DENO,
  SANDBOX_ENV,
  SANDBOX_PROGRAM,
  sandboxArgv,
  sessionBinds,
  smokeRun,
} from "./plan.ts";
import { ProcessIsolator } from "./process.ts";
import { PRIVATE_QUEUE_LOCKS_ARG, RunscIsolator, runscSessionInput } from "./runsc.ts";
import { type ResolvedSpec, resolveSpec } from "./spec.ts";
import { DEFAULT_LIMITS, type Isolator } from "./types.ts";

const LAYOUT_ARG = `${LAYOUT_FLAG}=${JSON.stringify(SANDBOX_LAYOUT)}`;
const AGENT_ARGS = ["--provider=mock", "--poll-ms=200"];

/** A resolved spec over made-up host paths (the plan functions read no files). */
function fakeSpec(program = "/srv/release/ironclaw-agent"): ResolvedSpec {
  return {
    sessionId: "sess_1",
    inboundDir: "/state/q/in",
    outboundDir: "/state/q/out",
    key: { file: "/state/key" },
    workspaceDir: "/state/ws",
    memoryDir: "/state/mem",
    socketDir: "/state/sock",
    library: "/srv/release/libsqlcipher.so",
    denoPath: "/usr/bin/deno",
    program,
    args: AGENT_ARGS,
    limits: { ...DEFAULT_LIMITS },
    mounts: [],
  };
}

const isProgramBind = (b: BindMount) =>
  [SANDBOX_DENO, SANDBOX_PROGRAM, SANDBOX_AGENT].includes(b.destination);

Deno.test("plan: the compiled agent runs directly, no deno run and no flags, as the only program in the sandbox", () => {
  const spec = fakeSpec();
  assert.deepEqual(sandboxArgv(spec, "executable"), [SANDBOX_AGENT, LAYOUT_ARG, ...AGENT_ARGS]);
  // The bundle's command line, for contrast: Deno, `run`, the contract's runtime and permission flags, the bundle.
  assert.deepEqual(sandboxArgv(spec, "bundle"), [
    SANDBOX_DENO,
    "run",
    ...AGENT_RUNTIME_FLAGS,
    ...agentPermissionFlags(SANDBOX_LAYOUT),
    SANDBOX_PROGRAM,
    LAYOUT_ARG,
    ...AGENT_ARGS,
  ]);

  const executable = sessionBinds(spec, "/dev/shm/k/sess_1", "executable");
  const bundle = sessionBinds(spec, "/dev/shm/k/sess_1", "bundle");
  assert.deepEqual(executable.filter(isProgramBind), [
    { source: spec.program, destination: SANDBOX_AGENT, writable: false, exec: true, isFile: true },
  ]);
  assert.deepEqual(bundle.filter(isProgramBind).map((b) => b.destination), [SANDBOX_DENO, SANDBOX_PROGRAM]);
  // Everything else (library, key, queues, sockets, workspace, memory) is the same.
  assert.deepEqual(executable.filter((b) => !isProgramBind(b)), bundle.filter((b) => !isProgramBind(b)));
});

Deno.test("runsc plan: config.json runs the agent executable from an exec-able read-only bind; no Deno in the rootfs", () => {
  using dir = tempDir("ironclaw-runsc-plan-");
  const spec = fakeSpec();
  const input = runscSessionInput(spec, "/dev/shm/k/sess_1", "executable");
  const config = writeBundle(`${dir.path}/bundle`, input) as {
    process: { args: string[]; env: string[] };
    mounts: OciMount[];
  };
  // Under gVisor the agent's file locks are its own: it is told so (`--queue-locks=private`).
  assert.deepEqual(config.process.args, [SANDBOX_AGENT, LAYOUT_ARG, ...AGENT_ARGS, PRIVATE_QUEUE_LOCKS_ARG]);
  const agent = config.mounts.filter((m) => m.destination === SANDBOX_AGENT);
  assert.deepEqual(agent, [{
    destination: SANDBOX_AGENT,
    type: "bind",
    source: spec.program,
    options: ["bind", "ro", "nosuid", "nodev"],
  }]);
  const destinations = config.mounts.map((m) => m.destination);
  for (const absent of [SANDBOX_DENO, SANDBOX_PROGRAM, SANDBOX_ENV.DENO_DIR]) {
    assert.ok(!destinations.includes(absent), `${absent} is mounted`);
  }
  const rootfs = `${dir.path}/bundle/rootfs`;
  assert.equal(Deno.statSync(`${rootfs}${SANDBOX_AGENT}`).size, 0, "only an empty mount point");
  for (const absent of [SANDBOX_DENO, SANDBOX_PROGRAM, SANDBOX_ENV.DENO_DIR]) {
    assert.throws(() => Deno.statSync(`${rootfs}${absent}`), Deno.errors.NotFound, absent);
  }

  // Seccomp, limits, identity, environment and the other mounts: as for a bundle.
  const bundled = ociConfig(runscSessionInput(spec, "/dev/shm/k/sess_1", "bundle")) as typeof config;
  const others = (c: typeof config) =>
    c.mounts.filter((m) => ![SANDBOX_DENO, SANDBOX_PROGRAM, SANDBOX_AGENT].includes(m.destination));
  assert.deepEqual(others(config), others(bundled));
  assert.deepEqual(
    { ...config, process: { ...config.process, args: [] }, mounts: [] },
    { ...bundled, process: { ...bundled.process, args: [] }, mounts: [] },
  );
});

Deno.test("bwrap plan: the agent executable is bound read-only and exec'd by setpriv; no Deno, bundle or cache", () => {
  const spec = fakeSpec();
  const { binds, argv } = bwrapSession(spec, "/dev/shm/k/sess_1", "executable");
  const args = bwrapArgs(binds, argv);
  const bound = args.flatMap((a, i) =>
    ["--bind", "--ro-bind"].includes(a) ? [[args[i + 1], args[i + 2]]] : []
  );
  assert.deepEqual(bound.filter(([, to]) => to === SANDBOX_AGENT), [[spec.program, SANDBOX_AGENT]]);
  for (const absent of [SANDBOX_DENO, SANDBOX_PROGRAM, SANDBOX_ENV.DENO_DIR]) {
    assert.ok(!bound.some(([, to]) => to === absent), `${absent} is bound`);
  }
  assert.ok(!args.includes(spec.denoPath), "the host's Deno is not named");
  assert.deepEqual(args.slice(args.lastIndexOf("--") + 1), [SANDBOX_AGENT, LAYOUT_ARG, ...AGENT_ARGS]);
  assert.ok(!args.some((a) => a === "--no-prompt" || /^--(allow|deny)-/.test(a)), "no Deno flags");
});

Deno.test("the process backend refuses the compiled agent, whose flags only fit the sandbox layout", async () => {
  using dir = tempDir("ironclaw-process-exe-");
  const isolator = new ProcessIsolator({
    stateDir: dir.path,
    agentExecutable: "/srv/release/ironclaw-agent",
  });
  const check = await isolator.check();
  assert.equal(check.ok, false);
  assert.match(check.detail, /cannot run the compiled agent .*only runsc and bwrap mount/);
  await assert.rejects(isolator.launch({ ...fakeSpec(), args: [] }), LaunchError);
  // Without it the same backend works (it runs Deno and bundles).
  assert.equal((await new ProcessIsolator({ stateDir: dir.path }).check()).ok, true);
});

Deno.test("the smoke check passes the agent's own bad-start answer and nothing that did not run it", () => {
  const exe = smokeRun({ kind: "executable", path: "/srv/release/ironclaw-agent" });
  assert.deepEqual(exe.argv, [SANDBOX_AGENT, "--version"]);
  assert.deepEqual(exe.binds.map((b) => b.destination), [SANDBOX_AGENT]);
  assert.ok(exe.passed(2, 'ironclaw-agent: unknown argument "--version"; flags: --layout=, …'));
  assert.ok(exe.passed(0, "ironclaw-agent 0.1.0"));
  assert.ok(!exe.passed(2, "bwrap: execvp /opt/ironclaw/ironclaw-agent: Permission denied"));
  assert.ok(!exe.passed(127, "error while loading shared libraries: libgcc_s.so.1"));
  assert.ok(!exe.passed(null, ""));
  const deno = smokeRun({ kind: "bundle", denoPath: "/usr/bin/deno" });
  assert.deepEqual(deno.argv, [SANDBOX_DENO, "--version"]);
  assert.ok(deno.passed(0, "deno 2.9.6"));
  assert.ok(!deno.passed(2, "ironclaw-agent: x"));
});

Deno.test("a launch spec for the compiled agent must name that executable, runnable by everyone; no Deno needed", () => {
  using dir = tempDir("ironclaw-spec-exe-");
  for (const sub of ["in", "out", "ws", "mem", "sock"]) Deno.mkdirSync(`${dir.path}/${sub}`);
  const exe = `${dir.path}/ironclaw-agent`;
  const lib = `${dir.path}/libsqlcipher.so`;
  Deno.writeFileSync(exe, new Uint8Array([0x7f, 0x45, 0x4c, 0x46]), { mode: 0o755 });
  Deno.chmodSync(exe, 0o755);
  Deno.writeFileSync(lib, new Uint8Array());
  const spec = {
    sessionId: "sess_1",
    inboundDir: `${dir.path}/in`,
    outboundDir: `${dir.path}/out`,
    key: { file: `${dir.path}/key` },
    workspaceDir: `${dir.path}/ws`,
    memoryDir: `${dir.path}/mem`,
    socketDir: `${dir.path}/sock`,
    library: lib,
    denoPath: `${dir.path}/no-deno-here`,
    program: exe,
  };
  const agent = { kind: "executable", path: exe } as const;
  assert.equal(resolveSpec(spec, agent).program, exe);
  assert.throws(
    () => resolveSpec(spec, { kind: "bundle", denoPath: spec.denoPath }),
    /denoPath .* does not exist/,
  );
  assert.throws(
    () => resolveSpec({ ...spec, program: lib }, agent),
    /is not this backend's agent executable/,
  );
  Deno.chmodSync(exe, 0o750);
  assert.throws(() => resolveSpec(spec, agent), /readable and executable by everyone \(chmod 755\)/);
});

// Real launches: a C stand-in that records, from inside the sandbox, its command line, uid and what
// the rootfs holds, into the session's outbound directory (the agent's writable queue directory).
const REPORT = "report.json";
const reporterSource = (versionExit: number) => `
#include <stdio.h>
#include <string.h>
#include <unistd.h>
static void str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) { if (*s == '"' || *s == '\\\\') fputc('\\\\', f); fputc(*s, f); }
  fputc('"', f);
}
int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--version") == 0) { puts("ironclaw-agent stand-in"); return ${versionExit}; }
  FILE *f = fopen(${JSON.stringify(`${SANDBOX_LAYOUT.outboundDir}/${REPORT}`)}, "w");
  if (!f) { perror("report"); return 3; }
  char exe[4096] = "";
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) exe[n] = 0;
  fprintf(f, "{\\"uid\\":%d,\\"exe\\":", (int)getuid());
  str(f, exe);
  fprintf(f, ",\\"deno\\":%d,\\"bundle\\":%d,\\"denoDir\\":%d,\\"library\\":%d,\\"key\\":%d,\\"argv\\":[",
    access(${JSON.stringify(SANDBOX_DENO)}, F_OK) == 0, access(${JSON.stringify(SANDBOX_PROGRAM)}, F_OK) == 0,
    access(${JSON.stringify(SANDBOX_ENV.DENO_DIR)}, F_OK) == 0,
    access(${JSON.stringify(SANDBOX_LAYOUT.library)}, R_OK) == 0,
    access(${JSON.stringify(SANDBOX_LAYOUT.keyFile)}, R_OK) == 0);
  for (int i = 0; i < argc; i++) { if (i) fputc(',', f); str(f, argv[i]); }
  fputs("]}", f);
  return fclose(f) == 0 ? 0 : 4;
}
`;

/** Compiles the reporter into `dir` (readable and runnable by the sandbox's uid); `versionExit` answers `--version`. */
function buildReporter(dir: string, versionExit: number): string {
  const source = `${dir}/reporter_${versionExit}.c`;
  const binary = `${dir}/ironclaw-agent-${versionExit}`;
  Deno.writeTextFileSync(source, reporterSource(versionExit));
  const cc = new Deno.Command("gcc", { args: ["-O1", "-o", binary, source], stderr: "piped" }).outputSync();
  if (!cc.success) throw new Error(`gcc: ${new TextDecoder().decode(cc.stderr)}`);
  Deno.chmodSync(dir, 0o755);
  Deno.chmodSync(binary, 0o755);
  return binary;
}

/** Whether `kind` runs here as it does for bundles (root, installed, its smoke launch passes). */
async function works(kind: "runsc" | "bwrap"): Promise<boolean> {
  if (Deno.uid() !== 0) return false;
  using dir = tempDir(`ironclaw-${kind}-check-`);
  const isolator = kind === "runsc"
    ? new RunscIsolator({ stateDir: dir.path })
    : new BwrapIsolator({ stateDir: dir.path });
  return (await isolator.check()).ok;
}

const backends: [string, boolean, (stateDir: string, exe: string) => Isolator][] = [
  ["runsc", await works("runsc"), (stateDir, exe) => new RunscIsolator({ stateDir, agentExecutable: exe })],
  ["bwrap", await works("bwrap"), (stateDir, exe) => new BwrapIsolator({ stateDir, agentExecutable: exe })],
];

for (const [kind, available, make] of backends) {
  Deno.test({
    name: `${kind}: a real sandbox runs the agent executable directly, with the session's mounts and no Deno`,
    ignore: !available,
    fn: async () => {
      using dir = tempDir(`ironclaw-${kind}-exe-`);
      const exe = buildReporter(dir.path, 0);
      const isolator = make(`${dir.path}/state`, exe);
      const check = await isolator.check();
      assert.ok(check.ok, check.detail);
      // A program that does not answer its smoke run fails the check.
      const broken = make(`${dir.path}/state-broken`, buildReporter(dir.path, 1));
      const refused = await broken.check();
      assert.equal(refused.ok, false);
      assert.match(refused.detail, /ironclaw-agent --version exited 1/);

      await using session = await probeSession(`exe_${kind}`, exe);
      const handle = await isolator.launch({ ...session.spec, args: AGENT_ARGS });
      const status = await handle.exited;
      const log = await Deno.readTextFile(handle.logPath).catch(() => "");
      assert.deepEqual(status, { code: 0 }, log);
      const report = JSON.parse(Deno.readTextFileSync(`${session.paths.outboundDir}/${REPORT}`));
      assert.deepEqual(report, {
        uid: 65532,
        exe: SANDBOX_AGENT,
        deno: 0,
        bundle: 0,
        denoDir: 0,
        library: 1,
        key: 1,
        argv: [
          SANDBOX_AGENT,
          LAYOUT_ARG,
          ...AGENT_ARGS,
          ...(kind === "runsc" ? [PRIVATE_QUEUE_LOCKS_ARG] : []),
        ],
      });
    },
  });
}
