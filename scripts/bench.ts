/**
 * The end-to-end benchmark harness: prints one JSON line per measured
 * quantity (`{name, value, unit}`), machine-readable, never asserting.
 *
 * @module
 */
import { queueBenchmarks } from "../tests/bench/queue_bench.ts";
import { printResult } from "../tests/bench/report.ts";

const suites: [string, () => Promise<{ name: string; value: number; unit: string }[]>][] = [
  ["queue", queueBenchmarks],
  ["pages", async () => (await import("../tests/bench/commit_pages.ts")).commitPagesBenchmarks()],
  ["api", async () => (await import("../tests/bench/api_bench.ts")).apiBenchmarks()],
  ["journey", async () => (await import("../tests/bench/journey_bench.ts")).journeyBenchmarks()],
  ["spares", async () => (await import("../tests/bench/spares_bench.ts")).sparesBenchmarks()],
];

for (const [name, run] of suites) {
  console.error(`bench: ${name}…`);
  for (const result of await run()) printResult(result);
}
