import assert from "node:assert/strict";
import type { ApiCallFn } from "grammy";
import { retryAfter, type RetryInfo } from "./retry.ts";

type Answer = { ok: true; result: unknown } | {
  ok: false;
  error_code: number;
  description: string;
  parameters?: { retry_after?: number };
};

/** A fake `prev` answering from a script, recording each call. */
function scripted(answers: Answer[]) {
  const calls: string[] = [];
  const prev = ((method: string) => {
    calls.push(method);
    return Promise.resolve(answers.shift() ?? { ok: true, result: "late" });
  }) as unknown as ApiCallFn;
  return { prev, calls };
}

const tooMany = (s: number): Answer => ({
  ok: false,
  error_code: 429,
  description: "Too Many Requests",
  parameters: { retry_after: s },
});

Deno.test("retry_after: a 429 is waited out for the stated seconds, then the call repeats", async () => {
  const waits: number[] = [];
  const told: RetryInfo[] = [];
  const t = retryAfter({ sleep: (ms) => (waits.push(ms), Promise.resolve()), onRetry: (i) => told.push(i) });
  const { prev, calls } = scripted([tooMany(2), tooMany(1), { ok: true, result: 7 }]);
  const res = await t(prev, "sendMessage", { chat_id: 1, text: "x" } as never);
  assert.deepEqual(res, { ok: true, result: 7 });
  assert.deepEqual(calls, ["sendMessage", "sendMessage", "sendMessage"]);
  assert.deepEqual(waits, [2000, 1000]);
  assert.deepEqual(told.map((i) => [i.attempt, i.delayMs]), [[1, 2000], [2, 1000]]);
});

Deno.test("retry_after: too long a wait, too many retries, or another error is handed back", async () => {
  const waits: number[] = [];
  const sleep = (ms: number) => (waits.push(ms), Promise.resolve());
  const capped = retryAfter({ sleep, maxDelaySeconds: 5 });
  const a = scripted([tooMany(6)]);
  assert.equal(((await capped(a.prev, "getMe", {} as never)) as Answer).ok, false);
  assert.equal(a.calls.length, 1);

  const few = retryAfter({ sleep, maxRetries: 2 });
  const b = scripted([tooMany(1), tooMany(1), tooMany(1), { ok: true, result: 1 }]);
  const res = (await few(b.prev, "getMe", {} as never)) as Answer;
  assert.equal(res.ok, false);
  assert.equal(b.calls.length, 3);

  const c = scripted([{ ok: false, error_code: 400, description: "Bad Request" }]);
  assert.equal(((await few(c.prev, "getMe", {} as never)) as Answer).ok, false);
  assert.equal(c.calls.length, 1);
  assert.deepEqual(waits, [1000, 1000]);
});
