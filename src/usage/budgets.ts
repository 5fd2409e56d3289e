/**
 * The agent groups' daily budgets, written only by the gateway's applier for
 * an approved `budget` change, read by the usage meter before every model
 * call (so an approval is live at once, no respawn).
 *
 * @module
 */
import type { BudgetPayload } from "../../contract/changes.ts";
import type { ChangeId } from "../../contract/ids.ts";
import type { StateDb } from "../state/mod.ts";

/** A group's budget and the change that set it. */
export interface Budget {
  dailyTokens?: number;
  /** Micro-USD, so comparisons with the counters are exact. */
  dailyMicroUsd?: number;
  changeId: ChangeId;
}

/** The budgets, in the state database. */
export class BudgetStore {
  readonly #state: StateDb;

  constructor(state: StateDb) {
    this.#state = state;
  }

  /** Replaces the group's budget (an empty payload removes it). */
  set(agentGroupId: string, budget: BudgetPayload, changeId: ChangeId): void {
    if (budget.dailyTokens === undefined && budget.dailyUsd === undefined) {
      this.#state.db.run("DELETE FROM budgets WHERE agent_group_id = ?", [agentGroupId]);
      return;
    }
    this.#state.db.run(
      `INSERT INTO budgets (agent_group_id, daily_tokens, daily_micro_usd, change_id) VALUES (?, ?, ?, ?)
       ON CONFLICT (agent_group_id) DO UPDATE SET
         daily_tokens = excluded.daily_tokens, daily_micro_usd = excluded.daily_micro_usd, change_id = excluded.change_id`,
      [
        agentGroupId,
        budget.dailyTokens ?? null,
        budget.dailyUsd === undefined ? null : Math.round(budget.dailyUsd * 1e6),
        changeId,
      ],
    );
  }

  /** The group's budget, if it has one. */
  get(agentGroupId: string): Budget | undefined {
    const row = this.#state.db.get<
      { daily_tokens: number | null; daily_micro_usd: number | null; change_id: string }
    >(
      "SELECT daily_tokens, daily_micro_usd, change_id FROM budgets WHERE agent_group_id = ?",
      [agentGroupId],
    );
    if (!row) return undefined;
    return {
      dailyTokens: row.daily_tokens ?? undefined,
      dailyMicroUsd: row.daily_micro_usd ?? undefined,
      changeId: row.change_id as ChangeId,
    };
  }
}
