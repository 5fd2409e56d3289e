/**
 * Model-call counters and a latency histogram, kept for the host's
 * Prometheus endpoint (which renders them; this module only counts).
 *
 * @module
 */

/** Prometheus metric names for the snapshot's fields. */
export const MODEL_METRIC_NAMES = {
  calls: "ironclaw_model_calls_total",
  errors: "ironclaw_model_call_errors_total",
  duration: "ironclaw_model_call_duration_seconds",
} as const;

/** Upper bounds (seconds) of the duration histogram's buckets; +Inf is implied. */
export const MODEL_CALL_DURATION_BUCKETS: readonly number[] = [
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
];

/** A point-in-time copy of the counters. */
export interface ModelCallMetricsSnapshot {
  /** Every request, allowed or not. */
  calls: number;
  /** Requests refused by the proxy or answered with status ≥ 400. */
  errors: number;
  /** The duration histogram, Prometheus style. */
  duration: {
    /** Cumulative counts: `counts[i]` requests took ≤ `MODEL_CALL_DURATION_BUCKETS[i]` seconds. */
    counts: number[];
    /** Total seconds observed. */
    sum: number;
    /** Observations (the +Inf bucket). */
    count: number;
  };
}

/** Accumulates model-call metrics. */
export class ModelCallMetrics {
  #calls = 0;
  #errors = 0;
  #buckets = MODEL_CALL_DURATION_BUCKETS.map(() => 0);
  #sum = 0;

  /** Counts one finished call. */
  observe(seconds: number, error: boolean): void {
    this.#calls++;
    if (error) this.#errors++;
    this.#sum += seconds;
    const bucket = MODEL_CALL_DURATION_BUCKETS.findIndex((le) => seconds <= le);
    if (bucket >= 0) this.#buckets[bucket]++;
  }

  /** The current values. */
  snapshot(): ModelCallMetricsSnapshot {
    let running = 0;
    return {
      calls: this.#calls,
      errors: this.#errors,
      duration: {
        counts: this.#buckets.map((n) => running += n),
        sum: this.#sum,
        count: this.#calls,
      },
    };
  }
}
