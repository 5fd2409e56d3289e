/**
 * The command tree. Every command has `--help`; failures are one line on
 * stderr and a non-zero exit.
 *
 * @module
 */
import { Command, CommanderError } from "commander";
import { registerAgentCommands } from "./agent.ts";
import { registerAuditCommands } from "./audit.ts";
import { registerBackupCommands } from "./backup.ts";
import { registerChangeCommands } from "./change.ts";
import { registerChannelCommands } from "./channel.ts";
import { registerChatCommands } from "./chat.ts";
import { registerConsoleCommand } from "./console.ts";
import { runQueueDemo } from "./demo.ts";
import { registerDoctorCommand } from "./doctor.ts";
import { CliError, describeError } from "./errors.ts";
import { registerKeysCommands } from "./keys.ts";
import { registerOnboardCommand } from "./onboard.ts";
import { type CliIo, processIo } from "./output.ts";
import { registerQuestionCommands } from "./question.ts";
import { registerRegistryCommands } from "./registry.ts";
import { registerSessionCommands } from "./session.ts";
import { registerTaskCommands } from "./task.ts";
import { registerWorkspaceFileCommands } from "./workspace_files.ts";
import { registerRollbackCommand } from "./rollback.ts";
import { registerServeCommand } from "./serve.ts";
import { registerStatusCommand } from "./status.ts";
import { registerToolsCommand } from "./tools.ts";
import { registerVerifyCommand } from "./verify.ts";
import { registerVaultCommands } from "./vault.ts";
import { registerEgressCommands } from "./egress.ts";
import { registerMcpCommands } from "./mcp.ts";
import { registerBudgetCommands } from "./budget.ts";
import { VERSION } from "./version.ts";
import { SCHEMA_VERSION } from "../src/state/mod.ts";

/** Column at which help text wraps. */
export const HELP_WIDTH = 100;

/** Builds the `ironclaw` program, writing through `io`. */
export function buildProgram(io: CliIo = processIo()): Command {
  const program = new Command("ironclaw")
    .description("IronClaw: security-first, self-hosted personal AI agents")
    .version(VERSION, "-V, --version", "print the version")
    // A parent's options only before its subcommand, so `audit verify --state-dir` reaches `verify`.
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      // A fixed width: help reads the same in any terminal, and in the README.
      getOutHelpWidth: () => HELP_WIDTH,
      getErrHelpWidth: () => HELP_WIDTH,
      writeOut: (s) => io.out(s.replace(/\n$/, "")),
      writeErr: (s) => io.err(s.replace(/\n$/, "")),
      // Usage mistakes, like every failure, are one line.
      outputError: (s, write) => write(`ironclaw: ${s.trim().replace(/^error: /, "")} (see --help)\n`),
    });

  registerOnboardCommand(program, io);
  registerServeCommand(program, io);
  registerChangeCommands(program, io);
  registerAuditCommands(program, io);
  registerAgentCommands(program, io);
  registerChatCommands(program, io);
  registerConsoleCommand(program, io);
  registerQuestionCommands(program, io);
  registerRegistryCommands(program, io);
  registerSessionCommands(program, io);
  registerTaskCommands(program, io);
  registerWorkspaceFileCommands(program, io);
  registerToolsCommand(program, io);
  registerStatusCommand(program, io);
  registerDoctorCommand(program, io);
  registerVerifyCommand(program, io);
  registerChannelCommands(program, io);
  registerKeysCommands(program, io);
  registerVaultCommands(program, io);
  registerEgressCommands(program, io);
  registerBackupCommands(program, io);
  registerMcpCommands(program, io);
  registerBudgetCommands(program, io);
  registerRollbackCommand(program);

  program.command("version").description("print the version (--json: also the state schema it migrates to)")
    .option("--json", "print {version, schema} as JSON")
    .action((opts: { json?: boolean }) =>
      io.out(opts.json ? JSON.stringify({ version: VERSION, schema: SCHEMA_VERSION }) : `ironclaw ${VERSION}`)
    );

  const demo = program.command("demo").description("self-contained demonstrations");
  demo.command("queue")
    .description("write and read an encrypted session queue and show the file holds no plaintext")
    .option("--text <text>", "message to send", "hello, sealed world")
    .action((opts: { text: string }) => {
      if (!runQueueDemo(opts.text, (line) => io.out(line))) throw new CliError("demo: a check failed");
    });

  return program;
}

/** Runs the CLI; returns the exit code. */
export async function runCli(args: string[], io: CliIo = processIo()): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(args, { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    io.err(`ironclaw: ${describeError(err)}`);
    return err instanceof CliError ? err.exitCode : 1;
  }
}
