/**
 * Model usage per agent group, day and model, in the state database: the
 * counters budgets are checked against and `ironclaw usage` reads. Durable,
 * so a restart does not reset them.
 *
 * @module
 */
import type { StateDb } from "../state/mod.ts";

/** One group's usage of one model on one day. */
export interface UsageRow {
  agentGroupId: string;
  /** `YYYY-MM-DD` (see `UsageDay`). */
  day: string;
  model: string;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  /** Cost in micro-USD at the prices in force when each call was counted. */
  costMicroUsd: number;
}

/** A group's totals for one day. */
export interface UsageTotals {
  inputTokens: number;
  outputTokens: number;
  costMicroUsd: number;
}

/** The usage counters. */
export class UsageStore {
  readonly #state: StateDb;

  constructor(state: StateDb) {
    this.#state = state;
  }

  /**
   * Adds one call to the group's counters for `day` and `model`. Committed
   * when this returns (every later read, budget checks included, counts it,
   * and it survives a kill -9 of the host), on disk with the state's next
   * fsync (`StateDb.writeSoon`): the model's answer does not wait for one.
   */
  add(usage: Omit<UsageRow, "calls">): void {
    this.#state.writeSoon(() =>
      this.#state.db.run(
        `INSERT INTO model_usage (agent_group_id, day, model, calls, input_tokens, output_tokens, cost_micro_usd)
       VALUES (?, ?, ?, 1, ?, ?, ?)
       ON CONFLICT (agent_group_id, day, model) DO UPDATE SET
         calls = calls + 1,
         input_tokens = input_tokens + excluded.input_tokens,
         output_tokens = output_tokens + excluded.output_tokens,
         cost_micro_usd = cost_micro_usd + excluded.cost_micro_usd`,
        [
          usage.agentGroupId,
          usage.day,
          usage.model,
          usage.inputTokens,
          usage.outputTokens,
          usage.costMicroUsd,
        ],
      )
    );
  }

  /** The group's totals on `day` (zeros when it used nothing). */
  totals(agentGroupId: string, day: string): UsageTotals {
    const row = this.#state.db.get<{ i: number | null; o: number | null; c: number | null }>(
      `SELECT SUM(input_tokens) AS i, SUM(output_tokens) AS o, SUM(cost_micro_usd) AS c
       FROM model_usage WHERE agent_group_id = ? AND day = ?`,
      [agentGroupId, day],
    );
    return { inputTokens: row?.i ?? 0, outputTokens: row?.o ?? 0, costMicroUsd: row?.c ?? 0 };
  }

  /** Rows from `sinceDay` on (inclusive), of one group or all, by day, group and model. */
  list(options: { sinceDay: string; agentGroupId?: string }): UsageRow[] {
    const group = options.agentGroupId;
    return this.#state.db.all<{
      agent_group_id: string;
      day: string;
      model: string;
      calls: number;
      input_tokens: number;
      output_tokens: number;
      cost_micro_usd: number;
    }>(
      `SELECT * FROM model_usage WHERE day >= ? ${group === undefined ? "" : "AND agent_group_id = ?"}
       ORDER BY day, agent_group_id, model`,
      group === undefined ? [options.sinceDay] : [options.sinceDay, group],
    ).map((r) => ({
      agentGroupId: r.agent_group_id,
      day: r.day,
      model: r.model,
      calls: r.calls,
      inputTokens: r.input_tokens,
      outputTokens: r.output_tokens,
      costMicroUsd: r.cost_micro_usd,
    }));
  }
}
