/**
 * `ironclaw`: the control plane and its command-line interface.
 *
 * @module
 */
import { runCli } from "./program.ts";

if (import.meta.main) {
  Deno.exit(await runCli(Deno.args));
}
