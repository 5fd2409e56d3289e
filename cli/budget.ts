/**
 * `ironclaw budget set` and `ironclaw usage`: an agent's daily model budget
 * (a `budget` change a human approves, like every capability) and what its
 * model calls used, per day, in tokens and USD at the host's price table.
 *
 * @module
 */
import type { Command } from "commander";
import { BudgetPayload } from "../contract/changes.ts";
import { defaultActor } from "./change.ts";
import { ApiClient, type ClientFlags, withClientFlags } from "./client.ts";
import { CliError } from "./errors.ts";
import { type CliIo, printJson, renderTable, terminalSafe } from "./output.ts";

/** `--daily-tokens` and `--daily-usd` as a budget payload; a clear line for bad input. */
export function budgetPayload(opts: { dailyTokens?: string; dailyUsd?: string }): BudgetPayload {
  const payload = BudgetPayload.safeParse({
    ...(opts.dailyTokens === undefined ? {} : { dailyTokens: Number(opts.dailyTokens) }),
    ...(opts.dailyUsd === undefined ? {} : { dailyUsd: Number(opts.dailyUsd) }),
  });
  if (!payload.success) {
    const field = String(payload.error.issues[0].path[0]) === "dailyTokens"
      ? "--daily-tokens"
      : "--daily-usd";
    const value = field === "--daily-tokens" ? opts.dailyTokens : opts.dailyUsd;
    throw new CliError(
      `${field} ${value}: expected ${
        field === "--daily-tokens" ? "a whole number of tokens" : "USD"
      } above 0`,
    );
  }
  return payload.data;
}

/** Registers `budget` and `usage` on `program`. */
export function registerBudgetCommands(program: Command, io: CliIo): void {
  const budget = program.command("budget").description("an agent's daily model budget (tokens and USD)");

  withClientFlags(
    budget.command("set")
      .description(
        "propose an agent's daily caps (a human approves); over a cap its model calls are refused until the day ends. " +
          "With neither cap, the budget is removed",
      )
      .requiredOption("--agent <group>", "the agent group")
      .option("--daily-tokens <n>", "tokens in and out a day, as the provider reported them")
      .option("--daily-usd <x>", "USD a day at the host's price table (serve --model-prices)")
      .option("--requested-by <who>", "who proposes it (default cli:$USER)"),
  ).action(async (
    opts: ClientFlags & { agent: string; dailyTokens?: string; dailyUsd?: string; requestedBy?: string },
  ) => {
    const after = budgetPayload(opts);
    const record = await ApiClient.fromFlags(opts).call((api) =>
      api.v1.changes.$post({
        json: {
          kind: "budget",
          agentGroupId: opts.agent,
          requestedBy: opts.requestedBy ?? defaultActor(),
          after,
        },
      })
    );
    if (record.status === "rejected") throw new CliError(`the budget was refused: ${record.reason}`);
    const caps = [
      after.dailyTokens === undefined ? undefined : `${after.dailyTokens} tokens`,
      after.dailyUsd === undefined ? undefined : `$${after.dailyUsd}`,
    ].filter((c) => c !== undefined);
    io.out(
      `proposed ${record.request.id}: ${opts.agent} ${
        caps.length ? `at most ${caps.join(" and ")} a day` : "unbudgeted"
      }`,
    );
    io.out(`approve with: ironclaw change approve ${record.request.id}`);
  });

  withClientFlags(
    program.command("usage")
      .description("model tokens in/out and cost per agent and day, and the agents' daily budgets")
      .option("--agent <group>", "one agent group (default: all)")
      .option("--days <n>", "how many usage days back, today included", "7")
      .option("--json", "machine-readable output"),
  ).action(async (opts: ClientFlags & { agent?: string; days: string; json?: boolean }) => {
    const days = Number(opts.days);
    if (!Number.isInteger(days) || days < 1 || days > 366) {
      throw new CliError(`--days ${opts.days}: expected a whole number from 1 to 366`);
    }
    const answer = await ApiClient.fromFlags(opts).call((api) =>
      api.v1.usage.$get({ query: { days: String(days), ...(opts.agent ? { agent: opts.agent } : {}) } })
    );
    if (opts.json) return printJson(io, answer);
    if (answer.rows.length === 0) io.out(`no model usage in the last ${days} day(s)`);
    else {
      const lines = renderTable([
        { header: "DAY", cell: (r) => r.day },
        { header: "AGENT", cell: (r) => terminalSafe(r.agentGroupId) },
        { header: "MODEL", cell: (r) => terminalSafe(r.model) },
        { header: "CALLS", cell: (r) => r.calls },
        { header: "TOKENS IN", cell: (r) => r.inputTokens },
        { header: "TOKENS OUT", cell: (r) => r.outputTokens },
        { header: "USD", cell: (r) => r.costUsd.toFixed(4) },
      ], answer.rows);
      for (const line of lines) io.out(line);
    }
    for (const b of answer.budgets) {
      const caps = [
        b.dailyTokens === null ? undefined : `${b.dailyTokens} tokens`,
        b.dailyUsd === null ? undefined : `$${b.dailyUsd}`,
      ].filter((c) => c !== undefined);
      io.out(`budget ${terminalSafe(b.agentGroupId)}: at most ${caps.join(" and ")} a day (${b.changeId})`);
    }
  });
}
