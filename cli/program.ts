/**
 * The command tree. Every command has `--help`; failures are one line on
 * stderr and a non-zero exit.
 *
 * @module
 */
import { Command, CommanderError } from "commander";
import { CliError, describeError } from "./errors.ts";
import { runQueueDemo } from "./demo.ts";
import { VERSION } from "./version.ts";

/** Builds the `ironclaw` program. */
export function buildProgram(): Command {
  const program = new Command("ironclaw")
    .description("IronClaw: security-first, self-hosted personal AI agents")
    .version(VERSION, "-V, --version", "print the version")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();

  program.command("version").description("print the version").action(() =>
    console.log(`ironclaw ${VERSION}`)
  );

  const demo = program.command("demo").description("self-contained demonstrations");
  demo.command("queue")
    .description("write and read an encrypted session queue and show the file holds no plaintext")
    .option("--text <text>", "message to send", "hello, sealed world")
    .action((opts: { text: string }) => {
      if (!runQueueDemo(opts.text, (line) => console.log(line))) throw new CliError("demo: a check failed");
    });

  return program;
}

/** Runs the CLI; returns the exit code. */
export async function runCli(args: string[]): Promise<number> {
  const program = buildProgram();
  program.configureOutput({ writeErr: (s) => Deno.stderr.writeSync(new TextEncoder().encode(s)) });
  try {
    await program.parseAsync(args, { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    console.error(`ironclaw: ${describeError(err)}`);
    return err instanceof CliError ? err.exitCode : 1;
  }
}
