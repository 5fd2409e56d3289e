import assert from "node:assert/strict";
import { KeyCustodian } from "../src/keys/mod.ts";
import { latestReport, NOT_PROVEN, PROBE_PROGRAM_ENV, PROBE_SOURCE } from "../src/verify/mod.ts";
import { tempDir } from "../tests/support/mod.ts";
import { FakeKubernetes } from "../tests/support/fake_kubernetes.ts";
import { DEFAULT_NAMESPACE, DEFAULT_RUNTIME_CLASS, RUNSC_HANDLER } from "../isolator/kubernetes/mod.ts";
import { captureIo } from "./output.ts";
import { runCli } from "./program.ts";
import { wallSummary, wallTable } from "./verify.ts";

/** Runs `ironclaw <args>` in-process. */
async function run(args: string[]) {
  const io = captureIo();
  const code = await runCli(args, io);
  return { code, stdout: io.stdout.join("\n"), stderr: io.stderr };
}

Deno.test({
  name:
    "verify --isolator process: walls fall, exit 1, a signed report that --check accepts and a tampered one fails",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    using dir = tempDir();
    await KeyCustodian.open(dir.path); // creates the master key
    const reportFile = `${dir.path}/report.json`;
    const out = await run([
      "verify",
      "--isolator",
      "process",
      "--json",
      "--state-dir",
      dir.path,
      "--report",
      reportFile,
    ]);
    assert.equal(out.code, 1, out.stderr.join("\n"));
    const json = JSON.parse(out.stdout);
    assert.equal(json.isolator, "process");
    // From source the probe is bundled and run by deno run, and the output says so.
    assert.equal(json.probe.mode, "bundle");
    assert.equal(json.probe.program, PROBE_SOURCE);
    assert.match(json.probe.description, /bundled with .*, run by deno run with the agent's flags$/);
    assert.equal(json.report, reportFile);
    assert.ok(json.walls.length > 10);
    for (const w of json.walls) assert.deepEqual(Object.keys(w).sort(), ["detail", "held", "name"]);
    assert.ok(json.walls.some((w: { held: boolean }) => !w.held));
    // The web console's walls do not depend on the isolator: they hold under process too.
    const consoleWalls = json.walls.filter((w: { name: string }) => w.name.startsWith("console-"));
    assert.deepEqual(consoleWalls.map((w: { name: string; held: boolean }) => [w.name, w.held]), [
      ["console-forgery", true],
      ["console-session", true],
      ["console-framing", true],
    ]);
    // Progress on standard error while it runs (standard output stays the JSON), then the one-line verdict.
    const progress = out.stderr.filter((l) => l.startsWith("verify: "));
    assert.match(progress[0], /^verify: checking the process sandbox backend/);
    assert.ok(progress.some((l) => /^verify: the probe attacks from inside a process sandbox/.test(l)));
    assert.ok(progress.some((l) => /^verify: console walls: 3\/3 held$/.test(l)));
    assert.equal(out.stderr.length, progress.length + 1);
    assert.match(out.stderr.at(-1)!, /^ironclaw: \d+ walls fell under process: network-tcp, /);
    assert.equal(Deno.statSync(reportFile).mode! & 0o777, 0o600);
    // Kept in the state directory too, where the console's Isolation page reads the newest.
    const latest = await latestReport(dir.path, await KeyCustodian.open(dir.path));
    assert.equal(latest?.check.ok, true);
    assert.equal(await Deno.readTextFile(latest!.path), await Deno.readTextFile(reportFile));

    const ok = await run(["verify", "--check", reportFile, "--state-dir", dir.path]);
    assert.equal(ok.code, 0, ok.stderr.join("\n"));
    assert.equal(
      ok.stdout.replace(/ \d+\/\d+ walls held, .*$/, ""),
      `report ${reportFile}: signature ok (isolator process, probe bundle ${PROBE_SOURCE},`,
    );
    assert.deepEqual(JSON.parse(Deno.readTextFileSync(reportFile)).probe, {
      mode: "bundle",
      program: PROBE_SOURCE,
    });

    const signed = JSON.parse(Deno.readTextFileSync(reportFile));
    signed.walls = signed.walls.map((w: { held: boolean }) => ({ ...w, held: true }));
    signed.held = true;
    Deno.writeTextFileSync(reportFile, JSON.stringify(signed));
    const bad = await run(["verify", "--check", reportFile, "--state-dir", dir.path]);
    assert.equal(bad.code, 1);
    assert.deepEqual(bad.stderr, [
      `ironclaw: report ${reportFile}: the signature does not match: the report was altered`,
    ]);
  },
});

Deno.test("verify refuses a bad --isolator, and --check without a master key, in one line", async () => {
  using dir = tempDir();
  const bad = await run(["verify", "--isolator", "docker"]);
  assert.equal(bad.code, 1);
  assert.deepEqual(bad.stderr, [
    `ironclaw: --isolator must be one of auto, runsc, bwrap, process, kubernetes, got "docker"`,
  ]);
  const none = await run(["verify", "--check", `${dir.path}/r.json`, "--state-dir", dir.path]);
  assert.equal(none.code, 1);
  assert.match(none.stderr[0], /^ironclaw: .* holds no host-master\.key: pass --state-dir/);
});

/** Runs `ironclaw <args>` with `$IRONCLAW_PROBE_PROGRAM` set to `env` (or unset), restoring it after. */
async function runWithProbeEnv(env: string | undefined, args: string[]) {
  const before = Deno.env.get(PROBE_PROGRAM_ENV);
  if (env === undefined) Deno.env.delete(PROBE_PROGRAM_ENV);
  else Deno.env.set(PROBE_PROGRAM_ENV, env);
  try {
    return await run(args);
  } finally {
    if (before === undefined) Deno.env.delete(PROBE_PROGRAM_ENV);
    else Deno.env.set(PROBE_PROGRAM_ENV, before);
  }
}

Deno.test("verify --probe-program, else $IRONCLAW_PROBE_PROGRAM: a missing probe stops in one line naming it", async () => {
  using dir = tempDir();
  const flag = await runWithProbeEnv(`${dir.path}/from-env`, [
    "verify",
    "--isolator",
    "process",
    "--state-dir",
    dir.path,
    "--probe-program",
    `${dir.path}/from-flag`,
  ]);
  assert.equal(flag.code, 1);
  assert.deepEqual(flag.stderr, [
    `ironclaw: probe program ${dir.path}/from-flag (--probe-program) does not exist`,
  ]);
  assert.equal(flag.stdout, "");
  const env = await runWithProbeEnv(`${dir.path}/from-env`, [
    "verify",
    "--isolator",
    "process",
    "--state-dir",
    dir.path,
  ]);
  assert.deepEqual(env.stderr, [
    `ironclaw: probe program ${dir.path}/from-env ($IRONCLAW_PROBE_PROGRAM) does not exist`,
  ]);
  // Checking a report runs no probe: a release without its probe can still check.
  const check = await runWithProbeEnv(`${dir.path}/from-env`, [
    "verify",
    "--check",
    `${dir.path}/r.json`,
    "--state-dir",
    dir.path,
  ]);
  assert.match(check.stderr[0], /holds no host-master\.key/);
});

Deno.test("verify --probe-program reaches the isolator: the process backend refuses a compiled probe, in one line", async () => {
  using dir = tempDir();
  const probe = `${dir.path}/ironclaw-probe`;
  Deno.writeFileSync(probe, new Uint8Array([0x7f, 0x45, 0x4c, 0x46]), { mode: 0o755 });
  Deno.chmodSync(probe, 0o755);
  const out = await runWithProbeEnv(undefined, [
    "verify",
    "--isolator",
    "process",
    "--state-dir",
    dir.path,
    "--probe-program",
    probe,
  ]);
  assert.equal(out.code, 1);
  const failure = out.stderr.filter((l) => !l.startsWith("verify: "));
  assert.equal(failure.length, 1);
  assert.match(
    failure[0],
    new RegExp(
      `^ironclaw: verify: isolator process is not available: the process backend cannot run the compiled agent ${probe}`,
    ),
  );
});

Deno.test({
  name:
    "verify --isolator kubernetes against a fake API server: every wall not proven, with the reason, exit 1",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    using dir = tempDir();
    await using fake = await FakeKubernetes.start();
    fake.addRuntimeClass(DEFAULT_RUNTIME_CLASS, RUNSC_HANDLER);
    using _env = fake.environment(dir.path);
    // The fake has no kubelet: the probe's Pod is created, then cannot start, as on a node without runsc.
    let kubelet = true;
    const noKubelet = (async () => {
      while (kubelet && fake.created.length === 0) await new Promise((r) => setTimeout(r, 20));
      const pod = fake.created[0];
      if (pod) {
        fake.wait(
          DEFAULT_NAMESPACE,
          pod.metadata!.name!,
          "CreateContainerError",
          "the fake API has no kubelet",
        );
      }
    })();
    try {
      const out = await run(["verify", "--isolator", "kubernetes", "--json", "--state-dir", `${dir.path}/s`]);
      assert.equal(out.code, 1, out.stderr.join("\n"));
      const json = JSON.parse(out.stdout);
      assert.equal(json.isolator, "kubernetes");
      assert.ok(json.walls.length > 10);
      for (const wall of json.walls) {
        assert.equal(wall.held, false, wall.name);
        assert.match(
          wall.detail,
          /^not proven: the probe never reported from the Pod \(the sandbox ended with SIGKILL: ironclaw: the container cannot start: CreateContainerError \(the fake API has no kubelet\)\)/,
        );
      }
      const verdict = out.stderr.filter((l) => !l.startsWith("verify: "));
      assert.equal(verdict.length, 1);
      assert.match(
        verdict[0],
        /^ironclaw: \d+ walls not proven under kubernetes: the probe never reported/,
      );
      assert.equal(
        fake.pod(DEFAULT_NAMESPACE, fake.created[0].metadata!.name!),
        undefined,
        "the Pod is deleted",
      );
    } finally {
      kubelet = false;
      await noKubelet;
    }
  },
});

Deno.test("verify's table fits the width (whole details under --verbose) and one line sums it up", () => {
  const result = {
    isolator: { kind: "runsc" as const, strength: "gvisor", detail: "" },
    walls: [
      {
        name: "network-tcp",
        held: true,
        detail: "host loopback listeners accepted 0 connections ".repeat(4),
      },
      { name: "memory-limit", held: false, detail: "no kernel limit on the agent's memory" },
      { name: "pids-limit", held: false, detail: `${NOT_PROVEN}the probe never reported` },
    ],
  };
  const rows = wallTable(result, { width: 60 });
  assert.match(rows[0], /^WALL\s+STATUS\s+DETAIL$/);
  for (const row of rows.slice(0, 4)) assert.ok(row.length <= 60, `${row.length}: ${row}`);
  assert.match(rows[1], /^network-tcp\s+held\s+host loopback .*…$/);
  // What did not hold is said whole, after the table.
  assert.deepEqual(rows.slice(4), [
    "memory-limit FALLEN: no kernel limit on the agent's memory",
    `pids-limit NOT PROVEN: ${NOT_PROVEN}the probe never reported`,
  ]);
  const verbose = wallTable(result, { width: 60, verbose: true });
  assert.equal(verbose.length, 4);
  assert.ok(verbose[1].endsWith("accepted 0 connections"));
  assert.deepEqual(
    wallTable(result, { width: 30 })[0].split(/\s+/),
    ["WALL", "STATUS"],
    "no room: no detail",
  );
  assert.equal(wallSummary(result), "1/3 walls held, 1 FALLEN, 1 NOT PROVEN");
  assert.equal(wallSummary({ ...result, walls: [result.walls[0]] }), "1/1 walls held");
});
