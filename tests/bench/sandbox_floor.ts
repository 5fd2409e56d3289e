/**
 * The sandbox's floor against our agent: through the same isolator, the
 * same launch path and the same hardening, how long and how much CPU and
 * memory the sandbox runtime alone costs (an empty static program: runsc's
 * start, the Sentry, gofer and ptrace stubs), then a do-nothing Deno program
 * (Deno's runtime on top), next to the agent itself. What the agent costs
 * beyond the Deno floor is ours to cut; the floors are not.
 *
 * Runs alternate (empty, floor, agent, empty, floor, agent, …) so that all see
 * the same load. Per run, on a provisioned session (real queues, a served
 * queue lease; no doorbell or model proxy, which the agent tolerates):
 *
 * - **empty**: `launch()` → the marker line of a static C program that writes
 *   it and sleeps, run the way the isolator runs a compiled agent (needs gcc;
 *   skipped with a note without it).
 * - **floor**: `launch()` → the program's first statement ran (its marker
 *   line in the sandbox's log); the program is prepared like the agent's
 *   bundle (module-info cache beside it).
 * - **agent**: `launch()` → its first poll (the second queue-lease request,
 *   as in `journey_bench.ts`).
 * - then, for both: the sandbox's cgroup CPU (and quota throttling) at that
 *   moment, and 2 s later the resident memory of its host processes (RSS and
 *   PSS summed) and its cgroup's memory.
 *
 * JSON lines on stdout (`sandbox_floor.<isolator>.<empty|floor|agent|ours>.…`), a
 * table on stderr; asserts nothing.
 *
 * Run: `scripts/deno run -A tests/bench/sandbox_floor.ts [--isolator runsc|bwrap|process] [--runs N]`
 *
 * @module
 */
import { type Isolator, type IsolatorKind, isolators } from "../../isolator/mod.ts";
import { AGENT_SOURCE, bundleAgent, prepareModuleInfo } from "../../src/sandbox/mod.ts";
import { keyRootFor, probeSession } from "../support/isolator_harness.ts";
import { type CgroupStats, cgroupStats, memoryOf, processTree } from "./journey_procs.ts";
import { type BenchResult, percentile, printResult } from "./report.ts";

/** The marker the floor program prints as its first statement. */
const READY = "ironclaw-floor-ready";
/** A do-nothing program: one line, then it idles so that its memory can be read. */
const FLOOR_PROGRAM = `console.error("${READY}");\nsetTimeout(() => {}, 600_000);\n`;
/** The same in C, built static: what the sandbox runtime costs with next to nothing inside. */
const EMPTY_PROGRAM = `#include <unistd.h>
int main(void) { write(2, "${READY}\\n", ${READY.length + 1}); sleep(600); return 0; }
`;
const SETTLE_MS = 2_000;
const TIMEOUT_MS = 60_000;
const MiB = 1024;

/** One launch's measurements. */
interface Sample {
  readyMs: number;
  cgroup?: CgroupStats;
  rssMiB: number;
  pssMiB: number;
  cgroupMemoryMiB?: number;
}

/** Launches `program` on a fresh session; `ready` tells when it got where we measure to. */
async function measure(
  isolator: Isolator,
  program: string,
  sessionId: string,
  args: string[],
  ready: (log: string, leaseRequests: number) => boolean,
): Promise<Sample> {
  await using session = await probeSession(sessionId, program);
  let leaseRequests = 0;
  const request = session.lease.request.bind(session.lease);
  session.lease.request = (onRevoke) => {
    leaseRequests++;
    return request(onRevoke);
  };
  const start = performance.now();
  const handle = await isolator.launch({ ...session.spec, args });
  try {
    let exited = false;
    handle.exited.then(() => exited = true, () => exited = true);
    for (;;) {
      const log = await Deno.readTextFile(handle.logPath).catch(() => "");
      if (ready(log, leaseRequests)) break;
      if (exited || performance.now() - start > TIMEOUT_MS) {
        throw new Error(`${sessionId} never got ready:\n${log.slice(-2000)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const readyMs = performance.now() - start;
    const cgroup = cgroupStats(`/ironclaw/${sessionId}`);
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const memory = memoryOf(processTree(sessionId).map((p) => p.pid));
    return {
      readyMs,
      cgroup,
      rssMiB: memory.rssKiB / MiB,
      pssMiB: memory.pssKiB / MiB,
      cgroupMemoryMiB: cgroupStats(`/ironclaw/${sessionId}`)?.memoryMiB,
    };
  } finally {
    await handle.stop();
  }
}

/** Builds {@link EMPTY_PROGRAM} into `dir`; undefined (and a note) without gcc. */
async function buildEmptyProgram(dir: string): Promise<string | undefined> {
  await Deno.writeTextFile(`${dir}/empty.c`, EMPTY_PROGRAM);
  const cc = await new Deno.Command("gcc", {
    args: ["-O2", "-static", "-o", `${dir}/empty`, `${dir}/empty.c`],
    stderr: "piped",
  }).output().catch((err: Error) => ({ success: false, stderr: new TextEncoder().encode(err.message) }));
  if (cc.success) return `${dir}/empty`;
  console.error(`sandbox_floor: no empty program (gcc: ${new TextDecoder().decode(cc.stderr).trim()})`);
}

const median = (values: readonly (number | undefined)[]) =>
  percentile(values.filter((v): v is number => v !== undefined), 50);

function summarize(prefix: string, samples: readonly Sample[]): Record<string, number> {
  return {
    [`${prefix}.ready`]: median(samples.map((s) => s.readyMs)),
    [`${prefix}.cgroup_cpu`]: median(samples.map((s) => s.cgroup?.cpuSeconds)),
    [`${prefix}.cgroup_throttled`]: median(samples.map((s) => s.cgroup?.throttledSeconds)),
    [`${prefix}.idle_rss`]: median(samples.map((s) => s.rssMiB)),
    [`${prefix}.idle_pss`]: median(samples.map((s) => s.pssMiB)),
    [`${prefix}.cgroup_memory`]: median(samples.map((s) => s.cgroupMemoryMiB)),
  };
}

const UNITS: Record<string, string> = {
  ready: "ms",
  cgroup_cpu: "s",
  cgroup_throttled: "s",
  idle_rss: "MiB",
  idle_pss: "MiB",
  cgroup_memory: "MiB",
};

/** Empty program, floor and agent, `runs` times each, alternating; the medians, and the agent's excess over the floor. */
export async function floorBenchmarks(kind: IsolatorKind = "runsc", runs = 3): Promise<BenchResult[]> {
  const dir = await Deno.makeTempDir({ prefix: "ironclaw-floor-" });
  const keyRoot = await keyRootFor(kind, dir);
  try {
    const isolator = isolators({ stateDir: `${dir}/isolator`, keyRoot })[kind];
    const check = await isolator.check();
    if (!check.ok) throw new Error(`${kind} does not work here: ${check.detail.split("\n")[0]}`);
    const agent = await bundleAgent(`${dir}/agent`, AGENT_SOURCE);
    const floor = `${dir}/floor/floor.js`;
    await Deno.mkdir(`${dir}/floor`, { mode: 0o755 });
    await Deno.chmod(dir, 0o755);
    await Deno.writeTextFile(floor, FLOOR_PROGRAM, { mode: 0o644 });
    await prepareModuleInfo(floor);
    const empty = await buildEmptyProgram(`${dir}/floor`);
    const emptyIsolator = empty &&
      isolators({ stateDir: `${dir}/isolator-empty`, keyRoot, agentExecutable: empty })[kind];
    const loads: number[] = [];
    const empties: Sample[] = [];
    const floors: Sample[] = [];
    const agents: Sample[] = [];
    for (let i = 0; i < runs; i++) {
      loads.push(Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]));
      if (emptyIsolator) {
        empties.push(await measure(emptyIsolator, empty, `empty_${i}`, [], (log) => log.includes(READY)));
      }
      floors.push(await measure(isolator, floor, `floor_${i}`, [], (log) => log.includes(READY)));
      agents.push(
        await measure(isolator, agent, `agent_${i}`, ["--provider=mock"], (_, leases) => leases >= 2),
      );
    }
    const f = summarize("floor", floors);
    const a = summarize("agent", agents);
    const ours = Object.fromEntries(
      Object.keys(UNITS).map((k) => [`ours.${k}`, a[`agent.${k}`] - f[`floor.${k}`]]),
    );
    const all = { ...(empties.length ? summarize("empty", empties) : {}), ...f, ...a, ...ours };
    const p = `sandbox_floor.${kind}`;
    const results: BenchResult[] = Object.entries(all).map(([name, value]) => ({
      name: `${p}.${name}`,
      value,
      unit: UNITS[name.split(".").at(-1)!],
    }));
    results.push({ name: `${p}.runs`, value: runs, unit: "count" });
    results.push({ name: `${p}.host_load_average`, value: median(loads), unit: "load" });
    console.error(table(kind, all, runs, median(loads)));
    return results;
  } finally {
    await Deno.remove(keyRoot, { recursive: true }).catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

function table(kind: IsolatorKind, v: Record<string, number>, runs: number, load: number): string {
  const fmt = (x: number, digits: number) => Number.isFinite(x) ? x.toFixed(digits) : "n/a";
  const rows: [string, string, number][] = [
    ["launch → ready (ms)", "ready", 0],
    ["cgroup CPU at ready (s)", "cgroup_cpu", 2],
    ["  of which throttled (s)", "cgroup_throttled", 2],
    ["idle RSS (MiB)", "idle_rss", 1],
    ["idle PSS (MiB)", "idle_pss", 1],
    ["cgroup memory (MiB)", "cgroup_memory", 1],
  ];
  const lines = [
    ["", "empty program", "floor", "agent", "agent − floor"],
    ...rows.map(([label, key, digits]) => [
      label,
      fmt(v[`empty.${key}`] ?? NaN, digits),
      fmt(v[`floor.${key}`], digits),
      fmt(v[`agent.${key}`], digits),
      fmt(v[`ours.${key}`], digits),
    ]),
  ];
  const widths = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  return [
    `sandbox floor: ${kind}${kind === "runsc" ? " (ptrace)" : ""}, medians of ${runs} runs each, ` +
    `load average ${fmt(load, 2)} (empty program: a static C program, the runtime alone; ` +
    `floor: a do-nothing Deno program; agent: to its first poll)`,
    ...lines.map((l) => l.map((c, i) => i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join("  ")),
  ].join("\n");
}

if (import.meta.main) {
  let kind: IsolatorKind = "runsc";
  let runs = 3;
  for (let i = 0; i < Deno.args.length; i++) {
    const [flag, inline] = Deno.args[i].split("=", 2);
    const value = () => inline ?? Deno.args[++i];
    if (flag === "--isolator") {
      const k = value();
      if (k !== "runsc" && k !== "bwrap" && k !== "process") {
        throw new Error("--isolator: runsc|bwrap|process");
      }
      kind = k;
    } else if (flag === "--runs") {
      runs = Number(value());
      if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs: a positive integer");
    } else {
      console.error(`sandbox_floor: unknown argument ${Deno.args[i]}`);
      Deno.exit(2);
    }
  }
  for (const result of await floorBenchmarks(kind, runs)) printResult(result);
}
