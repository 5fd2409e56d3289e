/**
 * Runs an IronClaw program from source with exactly the permission flags the
 * compiled binary has baked in (both read them from `contract/permissions.ts`).
 *
 * Usage: `entrypoint.ts host -- <ironclaw args>`; the `ironclaw` task is
 * `entrypoint.ts host --`, so `deno task ironclaw <args>` and the
 * conventional `deno task ironclaw -- <args>` (Deno passes that `--` on) both
 * reach the CLI as `<args>`.
 *
 * @module
 */
import { ENTRYPOINTS, HOST_PERMISSION_FLAGS } from "../contract/permissions.ts";

const root = new URL("../", import.meta.url).pathname;

/** The CLI's arguments: what follows the task's own `--` and, when given, the user's `--` after it. */
export function cliArgs(rest: readonly string[]): string[] {
  let args = rest;
  for (let separators = 0; separators < 2 && args[0] === "--"; separators++) args = args.slice(1);
  return [...args];
}

/** The `deno run` argument vector of the host program (`ironclaw`). */
export function hostRunArgs(args: readonly string[]): string[] {
  return ["run", ...HOST_PERMISSION_FLAGS, `${root}${ENTRYPOINTS.host}`, ...args];
}

if (import.meta.main) {
  const [program, ...rest] = Deno.args;
  if (program !== "host") {
    console.error("usage: entrypoint.ts host -- <args>   (the agent is launched only by the isolator)");
    Deno.exit(2);
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: hostRunArgs(cliArgs(rest)),
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => child.kill(signal));
  }
  const status = await child.status;
  Deno.exit(status.code);
}
