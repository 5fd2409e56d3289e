/**
 * Cold-start benchmark: from `launch()` to the first outbound row, with the
 * inbound row already waiting, for every backend that passes its check. The
 * probe agent polls every 20 ms and observes its walls before answering, so
 * the numbers include that. Prints JSON lines (`{name, value, unit}`);
 * asserts nothing. Run: `scripts/deno run -A tests/bench/launch_bench.ts [runs]`.
 *
 * @module
 */
import { type Isolator, isolators } from "../../isolator/mod.ts";
import { awaitReply, probeSession, writeInbound } from "../support/isolator_harness.ts";
import { type BenchResult, percentile, printResult } from "./report.ts";

/** Launch → first outbound row, `runs` times, for one backend. */
export async function measureColdStart(isolator: Isolator, runs: number): Promise<BenchResult[]> {
  const firstRow: number[] = [];
  const launchCall: number[] = [];
  const stop: number[] = [];
  for (let i = 0; i < runs; i++) {
    await using session = await probeSession(`bench_${isolator.kind}_${i}`);
    const id = writeInbound(session, "ping");
    const start = performance.now();
    const handle = await isolator.launch(session.spec);
    launchCall.push(performance.now() - start);
    try {
      await awaitReply(session, handle, id);
      firstRow.push(performance.now() - start);
    } finally {
      const stopStart = performance.now();
      await handle.stop();
      stop.push(performance.now() - stopStart);
    }
  }
  const stats = (name: string, values: number[]) =>
    [50, 95].map((p) => ({
      name: `isolator.${isolator.kind}.${name}.p${p}`,
      value: percentile(values, p),
      unit: "ms",
    }));
  return [
    ...stats("first_outbound_row", firstRow),
    ...stats("launch_call", launchCall),
    ...stats("stop", stop),
  ];
}

/** Cold starts of every backend that works here. */
export async function launchBenchmarks(runs = 5): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const stateDir = Deno.makeTempDirSync({ prefix: "ironclaw-bench-isolator-" });
  for (const isolator of Object.values(isolators({ stateDir }))) {
    const check = await isolator.check();
    if (!check.ok) {
      console.error(`bench: isolator ${isolator.kind} skipped: ${check.detail}`);
      continue;
    }
    results.push(...await measureColdStart(isolator, runs));
  }
  Deno.removeSync(stateDir, { recursive: true });
  return results;
}

if (import.meta.main) {
  for (const result of await launchBenchmarks(Number(Deno.args[0] ?? 5))) printResult(result);
}
