/** The usage counters: durable per group and day, priced by model, reset at the configured boundary. */
import assert from "node:assert/strict";
import type { ChangeId, SessionId } from "../../contract/ids.ts";
import { tempDir } from "../../tests/support/mod.ts";
import { openTestState } from "../../tests/support/state.ts";
import { MetricsRegistry } from "../metrics/mod.ts";
import { type BudgetSpent, BudgetStore, Prices, UsageDay, UsageMeter, UsageStore } from "./mod.ts";

Deno.test("the meter prices calls per group and day; the counters survive reopening the database", () => {
  using dir = tempDir();
  let now = new Date("2026-12-07T23:50:00Z");
  const state = openTestState(dir.path);
  const meter = new UsageMeter({
    store: new UsageStore(state),
    groupOf: (session) => session === "ses_a" ? "ag_a" : "ag_b",
    prices: new Prices({ "house-model": { input: 1, output: 2 } }),
    day: new UsageDay(60),
    now: () => now,
  });
  const metrics = new MetricsRegistry();
  metrics.collect(meter);
  meter.record("ses_a" as SessionId, { model: "house-model", inputTokens: 1000, outputTokens: 10 });
  now = new Date("2026-12-07T22:50:00Z");
  meter.record("ses_a" as SessionId, { model: "house-model", inputTokens: 500, outputTokens: 5 });
  meter.record("ses_b" as SessionId, { model: "claude-sonnet-4-5", inputTokens: 100, outputTokens: 100 });
  state.close();

  const reopened = openTestState(dir.path);
  try {
    const store = new UsageStore(reopened);
    // 23:50 UTC is the next day at UTC+1.
    assert.deepEqual(store.totals("ag_a", "2026-12-08"), {
      inputTokens: 1000,
      outputTokens: 10,
      costMicroUsd: 1020,
    });
    assert.deepEqual(store.totals("ag_a", "2026-12-07"), {
      inputTokens: 500,
      outputTokens: 5,
      costMicroUsd: 510,
    });
    assert.deepEqual(store.list({ sinceDay: "2026-12-07", agentGroupId: "ag_b" }), [{
      agentGroupId: "ag_b",
      day: "2026-12-07",
      model: "claude-sonnet-4-5",
      calls: 1,
      inputTokens: 100,
      outputTokens: 100,
      costMicroUsd: 1800,
    }]);
    assert.equal(store.list({ sinceDay: "2026-12-08" }).length, 1);
  } finally {
    reopened.close();
  }
  const text = metrics.render();
  assert.match(text, /ironclaw_model_tokens_total\{agent_group="ag_a",direction="input"\} 1500/);
  assert.match(text, /ironclaw_model_cost_usd_total\{agent_group="ag_b"\} 0.0018/);
});

Deno.test("prices: exact names, the longest prefix, and the catch-all for unknown models", () => {
  const prices = new Prices({ "claude-opus-4-8": { input: 1, output: 1 } });
  assert.deepEqual(prices.of("claude-opus-4-8"), { input: 1, output: 1 });
  assert.deepEqual(prices.of("gpt-4o-mini-2024"), { input: 0.15, output: 0.6 });
  assert.deepEqual(prices.of("someone-elses-model"), { input: 15, output: 75 });
});

Deno.test("the usage day resets at the configured offset", () => {
  const day = new UsageDay(-300);
  const at = new Date("2026-12-08T03:00:00Z");
  assert.equal(day.of(at), "2026-12-07");
  assert.equal(day.nextReset(at).toISOString(), "2026-12-08T05:00:00.000Z");
  assert.deepEqual(day.recent(at, 2), ["2026-12-06", "2026-12-07"]);
});

Deno.test("a spent budget refuses the group's calls with when it resets, audited once a day, counted each time", () => {
  using dir = tempDir();
  const state = openTestState(dir.path);
  try {
    const budgets = new BudgetStore(state);
    const spent: BudgetSpent[] = [];
    let now = new Date("2026-12-07T10:00:00Z");
    const meter = new UsageMeter({
      store: new UsageStore(state),
      budgets,
      groupOf: (session) => session === "ses_a" ? "ag_a" : "ag_b",
      onBudgetSpent: (event) => spent.push(event),
      now: () => now,
    });
    const metrics = new MetricsRegistry();
    metrics.collect(meter);
    state.db.run(
      "INSERT INTO agent_groups (id, name, folder, created_at, updated_at) VALUES ('ag_a', 'a', 'a', '', '')",
    );
    budgets.set("ag_a", { dailyTokens: 100 }, "chg_budget" as ChangeId);
    assert.equal(meter.refusal("ses_a" as SessionId), undefined, "nothing spent yet");
    meter.record("ses_a" as SessionId, { model: "mock-agent", inputTokens: 80, outputTokens: 20 });
    const refusal = meter.refusal("ses_a" as SessionId);
    assert.equal(
      refusal,
      "The daily model budget of agent ag_a is spent: 100 of its 100 tokens today. It resets at 2026-12-08 00:00 UTC; " +
        "until then I cannot answer (an operator can raise it with ironclaw budget set).",
    );
    assert.equal(meter.refusal("ses_b" as SessionId), undefined, "another group has its own budget");
    meter.refusal("ses_a" as SessionId);
    assert.deepEqual(spent, [{ agentGroupId: "ag_a", changeId: "chg_budget", message: refusal }]);
    assert.match(metrics.render(), /ironclaw_model_budget_refusals_total\{agent_group="ag_a"\} 2/);

    budgets.set("ag_a", { dailyTokens: 1000, dailyUsd: 0.0001 }, "chg_usd" as ChangeId);
    assert.match(meter.refusal("ses_a" as SessionId) ?? "", /spent: \$0\.00 of its \$0\.00 today/);
    now = new Date("2026-12-08T00:00:00Z");
    assert.equal(meter.refusal("ses_a" as SessionId), undefined, "a new day, a fresh budget");
    budgets.set("ag_a", {}, "chg_off" as ChangeId);
    assert.equal(budgets.get("ag_a"), undefined, "an empty budget removes it");
  } finally {
    state.close();
  }
});
