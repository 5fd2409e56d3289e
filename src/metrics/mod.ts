/**
 * Prometheus metrics for the control plane.
 *
 * @module
 */
export { Counter, Histogram, LATENCY_BUCKETS, MetricsRegistry } from "./registry.ts";
