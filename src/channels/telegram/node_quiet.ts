/**
 * Silences Node's deprecation warnings while grammY's Node build loads (its
 * HTTP polyfill pulls in the deprecated `punycode` module and would print a
 * warning on every start). {@link ./node_loud.ts} restores the setting right
 * after, so the rest of the process is unaffected.
 *
 * @module
 */
import nodeProcess from "node:process";

/** Node's `process`, with the (untyped here) switch for deprecation warnings. */
export const warnings = nodeProcess as unknown as { noDeprecation?: boolean };

/** The setting before grammY loaded. */
export const previousNoDeprecation: boolean = warnings.noDeprecation === true;
warnings.noDeprecation = true;
