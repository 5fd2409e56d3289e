/**
 * Model-call metrics for the host's Prometheus endpoint: calls and errors by
 * upstream host and status, and a latency histogram by host. The proxy is a
 * collectable source (`metrics.collect(proxy)`); token counts are the usage
 * meter's (`src/usage/`).
 *
 * @module
 */
import { Counter, Histogram } from "../metrics/mod.ts";
import type { ModelCallRecord } from "./handle.ts";

/** Prometheus metric names. */
export const MODEL_METRIC_NAMES = {
  calls: "ironclaw_model_calls_total",
  errors: "ironclaw_model_call_errors_total",
  duration: "ironclaw_model_call_duration_seconds",
} as const;

/** Upper bounds (seconds) of the duration histogram's buckets; +Inf is implied (model calls run long). */
export const MODEL_CALL_DURATION_BUCKETS: readonly number[] = [
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
  120,
];

/** The host label of a request refused off the allowlist: the sandbox chose that host, so it is not a label. */
export const OFF_ALLOWLIST_HOST = "off-allowlist";

/** Totals, for tests and quick looks. */
export interface ModelCallMetricsSnapshot {
  /** Every request, allowed or not. */
  calls: number;
  /** Requests refused by the proxy or answered with status ≥ 400. */
  errors: number;
}

/** Accumulates model-call metrics. */
export class ModelCallMetrics {
  readonly #calls = new Counter(
    MODEL_METRIC_NAMES.calls,
    "Model calls through the proxy, by upstream host and status.",
  );
  readonly #errors = new Counter(
    MODEL_METRIC_NAMES.errors,
    "Model calls refused by the proxy or answered with status >= 400, by upstream host and status.",
  );
  readonly #duration = new Histogram(
    MODEL_METRIC_NAMES.duration,
    "Model call duration to the last response byte, by upstream host.",
    MODEL_CALL_DURATION_BUCKETS,
  );
  #totals: ModelCallMetricsSnapshot = { calls: 0, errors: 0 };

  /** Counts one finished call. */
  observe(record: ModelCallRecord): void {
    const host = record.allowed ? record.host : OFF_ALLOWLIST_HOST;
    const labels = { host, status: String(record.status) };
    this.#calls.inc(labels);
    this.#totals.calls++;
    if (record.status >= 400 || !record.allowed) {
      this.#errors.inc(labels);
      this.#totals.errors++;
    }
    this.#duration.observe(record.durationMs / 1000, { host });
  }

  /** The totals now. */
  snapshot(): ModelCallMetricsSnapshot {
    return { ...this.#totals };
  }

  /** Exposition lines. */
  render(): string[] {
    return [...this.#calls.render(), ...this.#errors.render(), ...this.#duration.render()];
  }
}
