/**
 * The build version, read from deno.json at bundle/compile time.
 *
 * @module
 */
import config from "../deno.json" with { type: "json" };

/** IronClaw's version. */
export const VERSION: string = config.version;
