/**
 * kill -9 right after a model call was counted, before the count's fsync:
 * the model proxy answers once the usage is committed, without waiting for
 * the disk (`StateDb.writeSoon`). The restarted host still counts the call,
 * and the group's budget, spent by it, refuses the next call: a crash gives
 * no free tokens.
 */
import assert from "node:assert/strict";
import type { SessionId } from "../../contract/ids.ts";
import { BudgetStore, UsageDay, UsageMeter, UsageStore } from "../../src/usage/mod.ts";
import { tempDir } from "../support/mod.ts";
import { openTestState } from "../support/state.ts";

const script = new URL("./count_then_die.ts", import.meta.url).pathname;

Deno.test("fault: kill -9 after a call is counted, before its fsync: the count and the spent budget survive", async () => {
  using dir = tempDir();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, dir.path],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  assert.equal(out.signal, "SIGKILL", decode(out.stderr));
  assert.equal(decode(out.stdout).trim(), "counted", decode(out.stderr));

  using state = openTestState(dir.path);
  const store = new UsageStore(state);
  const today = new UsageDay().of(new Date());
  const totals = store.totals("ag_fault", today);
  assert.deepEqual([totals.inputTokens, totals.outputTokens], [20, 5]);
  const meter = new UsageMeter({ store, budgets: new BudgetStore(state), groupOf: () => "ag_fault" });
  assert.match(meter.refusal("ses_fault" as SessionId) ?? "", /is spent: 25 of its 10 tokens today/);
});
