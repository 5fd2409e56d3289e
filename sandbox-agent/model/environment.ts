/**
 * The agent runs with `--deny-env`, where every read of Node's `process.env`
 * throws. The model SDKs read optional variables (log level, custom headers,
 * telemetry switches) unguarded, at construction and at call time. The agent
 * has no environment by design, so it shows them an empty one.
 *
 * @module
 */
import process from "node:process";

/**
 * When the process may not read its environment, replaces `process.env` with
 * an empty object so npm code sees "unset" instead of a permission error.
 * Does nothing where the environment is readable (tests, dev tools).
 */
export function hideDeniedEnvironment(): void {
  if (Deno.permissions.querySync({ name: "env" }).state === "granted") return;
  process.env = {};
}
