/**
 * Per-request metrics and a structured log line. The route label is the
 * matched route's template (`/v1/changes/{id}`), never the raw path, so
 * label sets stay bounded; requests that match no route are `unmatched`.
 * Headers are never logged (the token travels in one).
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { logger } from "../../log/mod.ts";
import { type Counter, type Histogram, LATENCY_BUCKETS, type MetricsRegistry } from "../../metrics/mod.ts";
import { type ApiEnv, clientAddress } from "../env.ts";

/** The API's own metrics. */
export interface ApiMetrics {
  requests: Counter;
  duration: Histogram;
}

/** Request latency buckets in seconds: 1 ms and 2.5 ms, then the shared ones. */
export const API_DURATION_BUCKETS: readonly number[] = [0.001, 0.0025, ...LATENCY_BUCKETS];

const registered = new WeakMap<MetricsRegistry, ApiMetrics>();

/** The API metrics in `registry`, registered on first use (one set per registry). */
export function apiMetrics(registry: MetricsRegistry): ApiMetrics {
  let metrics = registered.get(registry);
  if (!metrics) {
    metrics = {
      requests: registry.counter("ironclaw_api_requests_total", "API requests, by method, route and status."),
      duration: registry.histogram(
        "ironclaw_api_request_duration_seconds",
        "API request latency in seconds, by route.",
        API_DURATION_BUCKETS,
      ),
    };
    registered.set(registry, metrics);
  }
  return metrics;
}

/**
 * The template of the route that answered `c` (or would have, had a
 * middleware not answered first), as written in the OpenAPI document.
 */
export function routeLabel(c: Context): string {
  const routes = matchedRoutes(c);
  const route = routes.slice(Math.max(0, c.req.routeIndex)).find((r) => r.method !== "ALL");
  return route ? route.path.replace(/:([A-Za-z0-9_]+)/g, "{$1}") : "unmatched";
}

/** Counts, times and logs every request, whatever answered it. */
export function observe(metrics: ApiMetrics): MiddlewareHandler<ApiEnv> {
  const log = logger("api");
  return async (c, next) => {
    const started = performance.now();
    await next();
    const seconds = (performance.now() - started) / 1000;
    const route = routeLabel(c);
    const status = c.res.status;
    metrics.requests.inc({ method: c.req.method, route, status: String(status) });
    metrics.duration.observe(seconds, { route });
    const fields = {
      method: c.req.method,
      route,
      path: c.req.path,
      status,
      durationMs: Math.round(seconds * 1e6) / 1000,
      client: clientAddress(c),
    };
    if (status >= 500) log.error("{method} {path} → {status} in {durationMs} ms", fields);
    else if (status >= 400) log.warn("{method} {path} → {status} in {durationMs} ms", fields);
    // A success is routine: one line per request would drown the warnings, so it is debug (`serve --log-level debug`).
    else log.debug("{method} {path} → {status} in {durationMs} ms", fields);
  };
}
