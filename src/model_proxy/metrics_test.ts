import assert from "node:assert/strict";
import type { SessionId } from "../../contract/ids.ts";
import { nowTimestamp } from "../../contract/time.ts";
import type { ModelCallRecord } from "./handle.ts";
import { ModelCallMetrics } from "./metrics.ts";

const call = (host: string, status: number, seconds: number, allowed = true): ModelCallRecord => ({
  time: nowTimestamp(),
  session: "ses_a" as SessionId,
  method: "POST",
  host,
  path: "/v1/messages",
  status,
  allowed,
  rateLimited: false,
  unreachable: false,
  requestBytes: 1,
  responseBytes: 1,
  durationMs: seconds * 1000,
});

Deno.test("calls and errors are counted by host and status; a sandbox-chosen host is not a label", () => {
  const metrics = new ModelCallMetrics();
  metrics.observe(call("api.anthropic.com", 200, 0.3));
  metrics.observe(call("api.anthropic.com", 401, 0.04));
  metrics.observe(call("exfil.example", 403, 0.001, false));
  metrics.observe(call("api.anthropic.com", 200, 200));
  assert.deepEqual(metrics.snapshot(), { calls: 4, errors: 2 });
  const text = metrics.render().join("\n");
  assert.match(text, /^ironclaw_model_calls_total\{host="api.anthropic.com",status="200"\} 2$/m);
  assert.match(text, /^ironclaw_model_call_errors_total\{host="api.anthropic.com",status="401"\} 1$/m);
  assert.match(text, /^ironclaw_model_call_errors_total\{host="off-allowlist",status="403"\} 1$/m);
  assert.doesNotMatch(text, /exfil/);
  // 0.04 s is in every bucket; 0.3 s from le 0.5 on; 200 s only in +Inf.
  assert.match(
    text,
    /^ironclaw_model_call_duration_seconds_bucket\{host="api.anthropic.com",le="0.05"\} 1$/m,
  );
  assert.match(text, /^ironclaw_model_call_duration_seconds_bucket\{host="api.anthropic.com",le="0.5"\} 2$/m);
  assert.match(text, /^ironclaw_model_call_duration_seconds_bucket\{host="api.anthropic.com",le="120"\} 2$/m);
  assert.match(text, /^ironclaw_model_call_duration_seconds_count\{host="api.anthropic.com"\} 3$/m);
});
