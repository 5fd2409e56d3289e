/**
 * The benchmark output format: one JSON object a line, `{name, value, unit}`.
 *
 * @module
 */

/** One measured quantity. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
}

/** Prints a result as a JSON line, rounded to 4 significant digits. */
export function printResult(r: BenchResult): void {
  console.log(JSON.stringify({ name: r.name, value: Number(r.value.toPrecision(4)), unit: r.unit }));
}

/** The p-th percentile (nearest rank) of `values`; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
