/**
 * What a model's tokens cost: USD per million input and output tokens, by
 * model name. The defaults are list prices when this table was written; the
 * operator overrides or adds models with `serve --model-prices FILE` (a JSON
 * object of the same shape). A model the table does not know costs the
 * `*` entry, so an unknown model is priced high rather than free.
 *
 * @module
 */
import { z } from "zod";

/** USD per million tokens. */
export const ModelPrice = z.object({
  input: z.number().nonnegative(),
  output: z.number().nonnegative(),
}).strict();
export type ModelPrice = z.infer<typeof ModelPrice>;

/** A price table: exact model names, `prefix*` patterns, and `*` for the rest. */
export const PriceTable = z.record(z.string().min(1), ModelPrice);
export type PriceTable = z.infer<typeof PriceTable>;

/** The shipped prices (USD per million tokens). */
export const DEFAULT_PRICES: PriceTable = {
  "claude-opus-4*": { input: 15, output: 75 },
  "claude-sonnet-4*": { input: 3, output: 15 },
  "claude-haiku-4*": { input: 1, output: 5 },
  "claude-3-5-haiku*": { input: 0.8, output: 4 },
  "gpt-4o-mini*": { input: 0.15, output: 0.6 },
  "gpt-4o*": { input: 2.5, output: 10 },
  "gpt-4.1-mini*": { input: 0.4, output: 1.6 },
  "gpt-4.1*": { input: 2, output: 8 },
  "openai/gpt-4o-mini*": { input: 0.15, output: 0.6 },
  "openai/gpt-4o*": { input: 2.5, output: 10 },
  // The offline mock is priced like a real model so budgets in USD can be tried without a key.
  "mock-*": { input: 3, output: 15 },
  "*": { input: 15, output: 75 },
};

/** Prices calls by model. */
export class Prices {
  readonly #table: PriceTable;

  /** `overrides` win over the defaults, entry by entry. */
  constructor(overrides: PriceTable = {}) {
    this.#table = { ...DEFAULT_PRICES, ...overrides };
  }

  /** The price of `model`: an exact entry, else the longest matching `prefix*`, else `*`. */
  of(model: string): ModelPrice {
    const exact = this.#table[model];
    if (exact) return exact;
    const prefix = Object.keys(this.#table)
      .filter((k) => k.endsWith("*") && model.startsWith(k.slice(0, -1)))
      .sort((a, b) => b.length - a.length)[0];
    return this.#table[prefix ?? "*"] ?? { input: 0, output: 0 };
  }

  /**
   * What `input` and `output` tokens of `model` cost, in micro-USD (integers, so sums stay exact).
   *
   * @example
   * ```ts
   * import { Prices } from "./prices.ts";
   * new Prices().microUsd("claude-sonnet-4-5", { input: 1000, output: 100 }); // 4500
   * ```
   */
  microUsd(model: string, tokens: { input: number; output: number }): number {
    const price = this.of(model);
    return Math.round(tokens.input * price.input + tokens.output * price.output);
  }
}

/** Reads an operator's price file; a clear error naming the file on bad input. */
export async function loadPriceFile(path: string): Promise<PriceTable> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw new Error(`model prices: cannot read ${path}: ${(err as Error).message}`);
  }
  let parsed;
  try {
    parsed = PriceTable.safeParse(JSON.parse(text));
  } catch (err) {
    throw new Error(`model prices: ${path} is not JSON: ${(err as Error).message}`);
  }
  if (!parsed.success) {
    throw new Error(
      `model prices: ${path} must map model names to {"input": USD, "output": USD} per million tokens: ${
        parsed.error.issues[0]?.message
      }`,
    );
  }
  return parsed.data;
}
