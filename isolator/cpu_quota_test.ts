import assert from "node:assert/strict";
import { idleProgram, probeSession } from "../tests/support/isolator_harness.ts";
import { tempDir } from "../tests/support/mod.ts";
import { applyCpuLimit, CPU_PERIOD_US, cpuQuotaControl, startCpus } from "./cpu_quota.ts";
import { ociConfig } from "./oci.ts";
import { RunscIsolator } from "./runsc.ts";
import type { SandboxHandle } from "./types.ts";

/** A cgroup filesystem laid out like the host's, in a temporary directory. */
function fakeCgroupFs(root: string, layout: "v1" | "v1-combined" | "v2", cgroup = "/ironclaw/ses_1"): string {
  const controller = { v1: `${root}/cpu`, "v1-combined": `${root}/cpu,cpuacct`, v2: root }[layout];
  Deno.mkdirSync(`${controller}${cgroup}`, { recursive: true });
  if (layout === "v2") {
    Deno.writeTextFileSync(`${root}/cgroup.controllers`, "cpu memory pids\n");
    Deno.writeTextFileSync(`${root}${cgroup}/cpu.max`, "max 100000\n");
  } else {
    Deno.writeTextFileSync(`${controller}/cpu.cfs_quota_us`, "-1\n");
    Deno.writeTextFileSync(`${controller}${cgroup}/cpu.cfs_quota_us`, "200000\n");
  }
  return controller;
}

Deno.test("cpu quota: a sandbox starts with every core, or its limit when that is more", () => {
  assert.equal(startCpus(1, 2), 2);
  assert.equal(startCpus(1, 16), 16);
  assert.equal(startCpus(4, 2), 4);
  assert.equal(startCpus(1, 1), 1);
});

Deno.test("cpu quota: the limit goes to cpu.max on cgroup v2 and to cpu.cfs_quota_us on v1", () => {
  for (const layout of ["v1", "v1-combined", "v2"] as const) {
    using dir = tempDir("ironclaw-cgroupfs-");
    const controller = fakeCgroupFs(dir.path, layout);
    const control = cpuQuotaControl("/ironclaw/ses_1", 1, dir.path);
    if (layout === "v2") {
      assert.deepEqual(control, { file: `${controller}/ironclaw/ses_1/cpu.max`, value: "100000 100000" });
    } else {
      assert.deepEqual(control, { file: `${controller}/ironclaw/ses_1/cpu.cfs_quota_us`, value: "100000" });
    }
    applyCpuLimit("/ironclaw/ses_1", 1.5, dir.path);
    assert.equal(Deno.readTextFileSync(control.file), layout === "v2" ? "150000 100000" : "150000", layout);
  }
});

Deno.test("cpu quota: a missing cgroup or controller is an error, and nothing is created", () => {
  using dir = tempDir("ironclaw-cgroupfs-");
  assert.throws(() => applyCpuLimit("/ironclaw/ses_1", 1, dir.path), /no cgroup cpu controller/);
  fakeCgroupFs(dir.path, "v1", "/ironclaw/other");
  assert.throws(() => applyCpuLimit("/ironclaw/ses_1", 1, dir.path), Deno.errors.NotFound);
  assert.throws(() => Deno.statSync(`${dir.path}/cpu/ironclaw/ses_1`), Deno.errors.NotFound);
});

Deno.test("oci: the quota is the start quota when it is more than the limit, else the limit", () => {
  const input = {
    argv: ["/agent"],
    binds: [],
    system: { binds: [], symlinks: [] },
    limits: { memoryMiB: 512, pids: 256, cpus: 1 },
    cgroupsPath: "/ironclaw/ses_1",
  };
  const quota = (extra: { startCpus?: number }) =>
    (ociConfig({ ...input, ...extra }) as { linux: { resources: { cpu: unknown } } }).linux.resources.cpu;
  assert.deepEqual(quota({}), { quota: CPU_PERIOD_US, period: CPU_PERIOD_US });
  assert.deepEqual(quota({ startCpus: 2 }), { quota: 2 * CPU_PERIOD_US, period: CPU_PERIOD_US });
  assert.deepEqual(quota({ startCpus: 0.5 }), { quota: CPU_PERIOD_US, period: CPU_PERIOD_US });
});

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

Deno.test("runsc: a sandbox starts on every core and is held to its CPU limit after the start window", async () => {
  using state = tempDir("ironclaw-runsc-cpu-");
  // A fresh id each run: a cgroup left by an interrupted run would otherwise answer with its old quota.
  const sessionId = `ses_cpu_window_${crypto.randomUUID().slice(0, 8)}`;
  await using session = await probeSession(sessionId, await idleProgram());
  // A window long enough that a loaded machine still shows the start quota before it ends.
  const isolator = new RunscIsolator({ stateDir: state.path, platform: "ptrace", startWindowMs: 4_000 });
  const { file } = cpuQuotaControl(`/ironclaw/${sessionId}`, 1);
  const quota = () => {
    try {
      const value = Deno.readTextFileSync(file).trim().split(" ")[0];
      return value === "-1" || value === "max" ? undefined : Number(value);
    } catch {
      return undefined;
    }
  };
  let handle: SandboxHandle | undefined;
  try {
    handle = await isolator.launch(session.spec);
    // runsc sets the start quota when it creates the cgroup; the host lowers it after the window.
    assert.equal(await waitFor("the sandbox's cgroup", quota), startCpus(1) * CPU_PERIOD_US);
    await waitFor("the CPU limit", () => quota() === CPU_PERIOD_US || undefined);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.equal(quota(), CPU_PERIOD_US, "the limit stays");
    assert.ok(await handle.alive());
  } finally {
    await handle?.stop();
  }
});

Deno.test("runsc: a sandbox whose CPU limit cannot be applied is stopped, with the reason in its log", async () => {
  using state = tempDir("ironclaw-runsc-cpu-");
  using noCgroups = tempDir("ironclaw-no-cgroupfs-");
  await using session = await probeSession("ses_cpu_fail", await idleProgram());
  const isolator = new RunscIsolator({
    stateDir: state.path,
    platform: "ptrace",
    startWindowMs: 300,
    cgroupFs: noCgroups.path,
  });
  const handle = await isolator.launch(session.spec);
  try {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ended = await Promise.race([
      handle.exited.then(() => true),
      new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), 30_000)),
    ]);
    clearTimeout(timer);
    assert.ok(ended, "the sandbox was not stopped");
    const log = await Deno.readTextFile(handle.logPath);
    assert.match(log, /CPU limit could not be applied \(no cgroup cpu controller under .*\); stopping it/);
  } finally {
    await handle.stop();
  }
});
