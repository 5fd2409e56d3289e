/**
 * Model usage and what it costs: the durable per-group, per-day counters the
 * model proxy feeds (through {@link UsageMeter}), the price table, and the
 * usage day.
 *
 * @example
 * ```ts ignore
 * const meter = new UsageMeter({ store: new UsageStore(state), groupOf: (s) => registry.getSession(s).agentGroupId });
 * const proxy = new ModelProxy({ usage: meter });
 * ```
 *
 * @module
 */
export { type Budget, BudgetStore } from "./budgets.ts";
export { UsageDay } from "./day.ts";
export { type BudgetSpent, UsageMeter, type UsageMeterOptions } from "./meter.ts";
export { DEFAULT_PRICES, loadPriceFile, ModelPrice, Prices, PriceTable } from "./prices.ts";
export { type UsageRow, UsageStore, type UsageTotals } from "./store.ts";
