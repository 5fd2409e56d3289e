/**
 * `ironclaw rollback`: switches an installation made by `deploy/install.sh`
 * back to the release it replaced. The installer keeps itself in every
 * release directory, beside `ironclaw`; this command runs that copy with
 * `--rollback`, so the switch (one rename of `current`) and its refusal of a
 * state newer than the older release knows are the installer's, in one place.
 *
 * @module
 */
import type { Command } from "commander";
import { CliError } from "./errors.ts";

/** The installer's name inside each release directory. */
export const INSTALLER_FILE = "install.sh";

/**
 * Where this installation keeps its releases: `<prefix>/releases/<version>/ironclaw`
 * is the running executable, so its prefix is two levels above its directory.
 */
export function installPrefix(executable: string): { releaseDir: string; prefix: string } | undefined {
  const match = /^(.*)\/releases\/[^/]+\/[^/]+$/.exec(executable);
  if (!match) return undefined;
  return { releaseDir: executable.replace(/\/[^/]+$/, ""), prefix: match[1] };
}

/** Runs the installer beside `executable` with `--rollback`; returns its exit code. */
export async function rollback(executable: string, options: { stateDir?: string } = {}): Promise<number> {
  const install = installPrefix(executable);
  const script = install && `${install.releaseDir}/${INSTALLER_FILE}`;
  if (!install || !(await Deno.stat(script!).then((s) => s.isFile, () => false))) {
    throw new CliError(
      `ironclaw rollback switches installs made by install.sh, and ${executable} is not one ` +
        "(from source: check out the older version instead)",
    );
  }
  const env: Record<string, string> = { IRONCLAW_PREFIX: install.prefix };
  if (options.stateDir) env.IRONCLAW_STATE_DIR = options.stateDir;
  const status = await new Deno.Command("sh", { args: [script!, "--rollback"], env, stdin: "null" }).spawn()
    .status;
  return status.code;
}

/** Registers `ironclaw rollback`. */
export function registerRollbackCommand(program: Command): void {
  program.command("rollback")
    .description("switch an install.sh installation back to the release it replaced")
    .option(
      "--state-dir <dir>",
      "the state whose schema the older release must understand (default: install.sh's, /var/lib/ironclaw as root)",
    )
    .action(async (opts: { stateDir?: string }) => {
      const code = await rollback(Deno.execPath(), { stateDir: opts.stateDir });
      if (code !== 0) throw new CliError("rollback: nothing was changed (see the line above)", code);
    });
}
