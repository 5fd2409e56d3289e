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

/** What the meter counts with. */
export interface UsageMeterOptions {
  store: UsageStore;
  /** The session's agent group (throws for an unknown session). */
  groupOf: (session: SessionId) => string;
  prices?: Prices;
  day?: UsageDay;
  /** The clock (default: the wall clock). */
  now?: () => Date;
  /** A call could not be counted (e.g. the database refused). Must not throw. */
  onError?: (error: unknown) => void;
}

/** Counts model usage per agent group and day. */
export class UsageMeter implements UsageSink {
  readonly prices: Prices;
  readonly day: UsageDay;
  readonly #options: UsageMeterOptions;
  readonly #tokens = new Counter(
    "ironclaw_model_tokens_total",
    "Model tokens used, by agent group and direction",
  );
  readonly #cost = new Counter(
    "ironclaw_model_cost_usd_total",
    "Model cost in USD at the price table, by agent group",
  );

  constructor(options: UsageMeterOptions) {
    this.#options = options;
    this.prices = options.prices ?? new Prices();
    this.day = options.day ?? new UsageDay();
  }

  /** Counts one call of `session`. */
  record(session: SessionId, usage: ModelUsage): void {
    try {
      const agentGroupId = this.#options.groupOf(session);
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

  /** The Prometheus lines (register with `MetricsRegistry.collect`). */
  render(): string[] {
    return [...this.#tokens.render(), ...this.#cost.render()];
  }

  #now(): Date {
    return this.#options.now?.() ?? new Date();
  }
}
