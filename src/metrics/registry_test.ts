import assert from "node:assert/strict";
import { LATENCY_BUCKETS, MetricsRegistry } from "./mod.ts";

Deno.test("counters and histograms render the exposition format", () => {
  const m = new MetricsRegistry();
  const c = m.counter("ironclaw_gateway_decisions_total", "Gateway decisions.");
  const h = m.histogram("ironclaw_api_request_duration_seconds", "API latency.", LATENCY_BUCKETS);
  c.inc({ decision: "approved" });
  c.inc({ decision: "approved" });
  c.inc({ decision: 'we"ird' });
  h.observe(0.007, { route: "/v1/x" });
  h.observe(3, { route: "/v1/x" });
  const text = m.render();
  assert.match(text, /# TYPE ironclaw_gateway_decisions_total counter/);
  assert.match(text, /ironclaw_gateway_decisions_total\{decision="approved"\} 2/);
  assert.match(text, /decision="we\\"ird"/);
  assert.match(text, /ironclaw_api_request_duration_seconds_bucket\{route="\/v1\/x",le="0\.005"\} 0/);
  assert.match(text, /ironclaw_api_request_duration_seconds_bucket\{route="\/v1\/x",le="0\.01"\} 1/);
  assert.match(text, /ironclaw_api_request_duration_seconds_bucket\{route="\/v1\/x",le="\+Inf"\} 2/);
  assert.match(text, /ironclaw_api_request_duration_seconds_count\{route="\/v1\/x"\} 2/);
  assert.equal(c.value({ decision: "approved" }), 2);
});

Deno.test("an untouched counter renders zero", () => {
  const m = new MetricsRegistry();
  m.counter("ironclaw_deliveries_total", "Deliveries.");
  assert.match(m.render(), /^ironclaw_deliveries_total 0$/m);
});

Deno.test("a series is the same whatever the labels' order; backslashes and newlines are escaped", () => {
  const m = new MetricsRegistry();
  const c = m.counter("ironclaw_x_total", "X.");
  c.inc({ b: "2", a: "1" });
  c.inc({ a: "1", b: "2" });
  c.inc({ path: "C:\\dir\nnext" });
  assert.equal(c.value({ b: "2", a: "1" }), 2);
  assert.match(m.render(), /^ironclaw_x_total\{a="1",b="2"\} 2$/m);
  assert.match(m.render(), /^ironclaw_x_total\{path="C:\\\\dir\\nnext"\} 1$/m);
});
