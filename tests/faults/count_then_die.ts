/**
 * A model call's usage counted, then the host killed, as its own process:
 * opens the state database in the directory given, sets agent group
 * `ag_fault` a 10-token daily budget (durable commits), counts one 25-token
 * call of session `ses_fault` through the usage meter exactly as the model
 * proxy does before it answers, prints `counted` and SIGKILLs itself at once:
 * the count's fsync, started in the background, is not waited for.
 *
 * Usage: `count_then_die.ts <state-dir>`
 *
 * @module
 */
import type { ChangeId, SessionId } from "../../contract/ids.ts";
import { BudgetStore, UsageMeter, UsageStore } from "../../src/usage/mod.ts";
import { openTestState } from "../support/state.ts";

const [stateDir] = Deno.args;
const state = openTestState(stateDir);
state.db.run(
  "INSERT INTO agent_groups (id, name, folder, created_at, updated_at) VALUES ('ag_fault', 'f', 'f', '', '')",
);
new BudgetStore(state).set("ag_fault", { dailyTokens: 10 }, "chg_fault" as ChangeId);
const meter = new UsageMeter({
  store: new UsageStore(state),
  budgets: new BudgetStore(state),
  groupOf: () => "ag_fault",
  onError: (error) => console.error(`not counted: ${error}`),
});
if (meter.refusal("ses_fault" as SessionId) !== undefined) throw new Error("refused before any call");
meter.record("ses_fault" as SessionId, { model: "mock", inputTokens: 20, outputTokens: 5 });
console.log("counted");
Deno.kill(Deno.pid, "SIGKILL");
