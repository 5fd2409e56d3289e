/**
 * Whether the runsc (gVisor) end-to-end tests can run here: as root, with
 * runsc installed and its smoke launch passing. CI has it; elsewhere those
 * tests are skipped, not failed.
 *
 * @module
 */
import { isolators } from "../../isolator/mod.ts";

/** Whether runsc runs here (root, installed, its smoke launch passes). */
export async function runscWorks(): Promise<boolean> {
  if (Deno.uid() !== 0) return false;
  const stateDir = Deno.makeTempDirSync({ prefix: "ironclaw-runsc-check-" });
  try {
    return (await isolators({ stateDir }).runsc.check()).ok;
  } finally {
    Deno.removeSync(stateDir, { recursive: true });
  }
}
