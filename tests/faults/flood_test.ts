/**
 * A flood of inbound messages: 2,000 chat sends to one agent as fast as 50
 * concurrent clients can, against `serve` with its default API rate limit.
 * The API sheds what is over the limit with 429 (not by buffering), the
 * server's resident memory stays within a bound of its warmed-up baseline,
 * and it still answers a fresh message afterwards.
 */
import assert from "node:assert/strict";
import { faultDir, startServe } from "./serve_process.ts";
import { answered } from "../support/api.ts";
import { drainChat } from "../support/web_chat_client.ts";

function rssMiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? NaN) / 1024;
}

Deno.test("fault: 2,000 messages flooding one agent are shed with 429, memory stays bounded", async () => {
  await using dir = faultDir("ironclaw-fault-flood-");
  await using serve = await startServe(`${dir.path}/state`);
  const send = (text: string) =>
    answered(serve.api.v1.ui.chat.send.$post({ json: { agentGroupId: "demo", text, chatId: "flood" } }));
  const warm = await send("warm up");
  assert.equal(warm.status, 202);
  const baseline = rssMiB(serve.pid);
  const statuses = new Map<number, number>();
  let next = 0;
  await Promise.all(Array.from({ length: 50 }, async () => {
    while (next < 2000) {
      const { status } = await send(`flood ${next++}`);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  }));
  const peak = rssMiB(serve.pid);
  const summary = JSON.stringify(Object.fromEntries(statuses));
  assert.deepEqual([...statuses.keys()].filter((s) => s !== 202 && s !== 429), [], summary);
  assert.ok((statuses.get(429) ?? 0) > 0, `over the rate limit is 429: ${summary}`);
  assert.ok(peak - baseline < 150, `RSS ${baseline.toFixed(0)} → ${peak.toFixed(0)} MiB: ${summary}`);
  // Once the bucket refills, a fresh message is accepted and answered.
  await new Promise((resolve) => setTimeout(resolve, 2500));
  assert.equal((await send("after the flood")).status, 202);
  const seen: string[] = [];
  for (let i = 0; i < 8 && !seen.some((r) => r.includes("after the flood")); i++) {
    const messages = await drainChat(serve.api, { chatId: "flood", waitMs: 15_000 });
    seen.push(...messages.map((m) => m.content));
  }
  assert.ok(
    seen.some((r) => r.includes("after the flood")),
    `${seen.slice(-5)}\n${serve.output().slice(-2000)}`,
  );
});
