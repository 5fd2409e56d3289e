/**
 * `ironclaw task list|cancel`: the agents' scheduled tasks as the operator
 * sees them (an agent sees only its own session's) and an operator's cancel,
 * for a task that should not run again.
 *
 * @module
 */
import type { Command } from "commander";
import type { InferResponseType } from "hono/client";
import type { ApiRpc } from "../src/api/mod.ts";
import { ApiClient, type ClientFlags, withClientFlags } from "./client.ts";
import { type CliIo, type Column, printJson, printListing } from "./output.ts";

type TaskRow = InferResponseType<ApiRpc["v1"]["tasks"]["$get"], 200>[number];

/** The longest prompt a table row shows; `--json` has it whole. */
const PROMPT_CELL_CHARS = 60;

const TASK_COLUMNS: Column<TaskRow>[] = [
  { header: "ID", cell: (t) => t.id },
  { header: "AGENT", cell: (t) => t.agentGroupId },
  { header: "STATE", cell: (t) => t.state },
  { header: "NEXT RUN", cell: (t) => t.nextRun },
  { header: "REPEATS", cell: (t) => t.recurrence ?? "once" },
  {
    header: "PROMPT",
    cell: (t) =>
      t.prompt.length > PROMPT_CELL_CHARS ? `${t.prompt.slice(0, PROMPT_CELL_CHARS - 1)}…` : t.prompt,
  },
];

/** Registers `task` and its subcommands on `program`. */
export function registerTaskCommands(program: Command, io: CliIo): void {
  const task = program.command("task").description("the agents' scheduled tasks: list them, cancel one");

  withClientFlags(
    task.command("list")
      .description("live scheduled tasks (active and paused) of every agent, by next run")
      .option("--agent <id>", "only this agent's tasks")
      .option("--json", "machine-readable output (whole prompts)"),
  ).action(async (opts: ClientFlags & { agent?: string; json?: boolean }) => {
    const rows = await ApiClient.fromFlags(opts).call((api) =>
      api.v1.tasks.$get({ query: opts.agent ? { agentGroupId: opts.agent } : {} })
    );
    printListing(
      io,
      opts,
      rows,
      TASK_COLUMNS,
      "No scheduled tasks: an agent schedules them with schedule_task.",
    );
  });

  withClientFlags(
    task.command("cancel")
      .description("cancel a scheduled task so it never runs again (the agent's task list says so)")
      .argument("<id>", "task id (tsk_…, from `ironclaw task list`)")
      .option("--json", "machine-readable output"),
  ).action(async (id: string, opts: ClientFlags & { json?: boolean }) => {
    const cancelled = await ApiClient.fromFlags(opts).call((api) =>
      api.v1.tasks[":id"].cancel.$post({ param: { id: encodeURIComponent(id) } })
    );
    if (opts.json) return printJson(io, cancelled);
    io.out(`cancelled ${cancelled.id} (agent ${cancelled.agentGroupId}): ${cancelled.prompt}`);
  });
}
