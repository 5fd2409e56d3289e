/**
 * The model proxy's usage sink on the host: resolves a session to its agent
 * group, prices the call, adds it to the durable counters and to the
 * Prometheus counters `/metrics` renders.
 *
 * @module
 */
import type { SessionId } from "../../contract/ids.ts";
import { Counter } from "../metrics/mod.ts";
import type { ModelUsage, UsageSink } from "../model_proxy/mod.ts";
import { UsageDay } from "./day.ts";
import { Prices } from "./prices.ts";
import type { UsageStore } from "./store.ts";
import type { Budget, BudgetStore } from "./budgets.ts";
import { BoundedMemo } from "../memo/mod.ts";

/** A group ran out of its daily budget. */
export interface BudgetSpent {
  agentGroupId: string;
  /** The approved `budget` change that set the cap. */
  changeId: Budget["changeId"];
  /** What was spent of which cap, and when it resets (also what the conversation is told). */
  message: string;
}

/** What the meter counts with. */
export interface UsageMeterOptions {
  store: UsageStore;
  /** The daily budgets (absent: none is enforced). */
  budgets?: BudgetStore;
  /** A group's call was refused over budget, the first time this day (for the audit line). Must not throw. */
  onBudgetSpent?: (event: BudgetSpent) => void;
  /** The session's agent group (throws for an unknown session); asked once per session. */
  groupOf: (session: SessionId) => string;
  prices?: Prices;
  day?: UsageDay;
  /** The clock (default: the wall clock). */
  now?: () => Date;
  /** A call could not be counted (e.g. the database refused). Must not throw. */
  onError?: (error: unknown) => void;
}

const usd = (microUsd: number) => (microUsd / 1e6).toFixed(2);

/** Sessions whose agent group the meter remembers at most (then it forgets them all and asks again). */
const MAX_REMEMBERED_SESSIONS = 4096;

/** Counts model usage per agent group and day, and refuses a group over its daily budget. */
export class UsageMeter implements UsageSink {
  readonly prices: Prices;
  readonly day: UsageDay;
  /** The counters it writes. */
  readonly store: UsageStore;
  /** The budgets it enforces (absent: none). */
  readonly budgets?: BudgetStore;
  readonly #options: UsageMeterOptions;
  readonly #tokens = new Counter(
    "ironclaw_model_tokens_total",
    "Model tokens used, by agent group and direction",
  );
  readonly #cost = new Counter(
    "ironclaw_model_cost_usd_total",
    "Model cost in USD at the price table, by agent group",
  );
  readonly #refused = new Counter(
    "ironclaw_model_budget_refusals_total",
    "Model calls the proxy refused because the agent group's daily budget was spent",
  );
  /** `group day` pairs already audited, so a spent budget is one audit line a day, not one a call. */
  readonly #audited = new Set<string>();
  /** Each session's agent group, asked once (a session never changes group): two state reads less per call. */
  readonly #groups = new BoundedMemo<SessionId, string>(MAX_REMEMBERED_SESSIONS);

  constructor(options: UsageMeterOptions) {
    this.#options = options;
    this.store = options.store;
    this.budgets = options.budgets;
    this.prices = options.prices ?? new Prices();
    this.day = options.day ?? new UsageDay();
  }

  /**
   * Counts one call of `session`: committed before this returns (the next
   * budget check counts it; a kill -9 of the host keeps it), on disk with the
   * state's next fsync, so the proxy answers without waiting for the disk.
   */
  record(session: SessionId, usage: ModelUsage): void {
    try {
      const agentGroupId = this.#groupOf(session);
      const tokens = { input: usage.inputTokens, output: usage.outputTokens };
      const costMicroUsd = this.prices.microUsd(usage.model, tokens);
      this.#options.store.add({
        agentGroupId,
        day: this.day.of(this.#now()),
        model: usage.model,
        inputTokens: usage.inputTokens,
        outputTokens: usage.outputTokens,
        costMicroUsd,
      });
      this.#tokens.inc({ agent_group: agentGroupId, direction: "input" }, usage.inputTokens);
      this.#tokens.inc({ agent_group: agentGroupId, direction: "output" }, usage.outputTokens);
      this.#cost.inc({ agent_group: agentGroupId }, costMicroUsd / 1e6);
    } catch (error) {
      this.#options.onError?.(error);
    }
  }

  /**
   * Why `session`'s group may not call a model now: its tokens or cost today
   * reached a cap of its budget. Unknown sessions and groups without a
   * budget may.
   */
  refusal(session: SessionId): string | undefined {
    const budgets = this.#options.budgets;
    if (!budgets) return undefined;
    let agentGroupId: string;
    try {
      agentGroupId = this.#groupOf(session);
    } catch {
      return undefined;
    }
    const budget = budgets.get(agentGroupId);
    if (!budget) return undefined;
    const now = this.#now();
    const day = this.day.of(now);
    const spent = this.#options.store.totals(agentGroupId, day);
    const tokens = spent.inputTokens + spent.outputTokens;
    let what: string | undefined;
    if (budget.dailyTokens !== undefined && tokens >= budget.dailyTokens) {
      what = `${tokens} of its ${budget.dailyTokens} tokens`;
    } else if (budget.dailyMicroUsd !== undefined && spent.costMicroUsd >= budget.dailyMicroUsd) {
      what = `$${usd(spent.costMicroUsd)} of its $${usd(budget.dailyMicroUsd)}`;
    }
    if (what === undefined) return undefined;
    const resets = this.day.nextReset(now).toISOString().slice(0, 16).replace("T", " ");
    const message = `The daily model budget of agent ${agentGroupId} is spent: ${what} today. ` +
      `It resets at ${resets} UTC; until then I cannot answer (an operator can raise it with ironclaw budget set).`;
    this.#refused.inc({ agent_group: agentGroupId });
    const key = `${agentGroupId} ${day}`;
    if (!this.#audited.has(key)) {
      this.#audited.add(key);
      this.#options.onBudgetSpent?.({ agentGroupId, changeId: budget.changeId, message });
    }
    return message;
  }

  /** The Prometheus lines (register with `MetricsRegistry.collect`). */
  render(): string[] {
    return [...this.#tokens.render(), ...this.#cost.render(), ...this.#refused.render()];
  }

  #groupOf(session: SessionId): string {
    // Bounded: sessions come and go over a plane's life; a miss only costs a state read.
    return this.#groups.get(session, (s) => this.#options.groupOf(s));
  }

  #now(): Date {
    return this.#options.now?.() ?? new Date();
  }
}
