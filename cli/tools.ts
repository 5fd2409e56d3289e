/**
 * `ironclaw tools`: the built-in tool catalog, offline.
 *
 * @module
 */
import type { Command } from "commander";
import { toolCatalog, type ToolInfo } from "../src/catalog/mod.ts";
import { type CliIo, type Column, printListing } from "./output.ts";

const TOOL_COLUMNS: Column<ToolInfo>[] = [
  { header: "NAME", cell: (t) => t.name },
  { header: "CATEGORY", cell: (t) => t.category },
  { header: "MANDATORY", cell: (t) => (t.mandatory ? "yes" : "no") },
  { header: "DESCRIPTION", cell: (t) => t.description },
];

/** The catalog grouped by category (categories in first-seen order), as the table shows it. */
export function catalogByCategory(): ToolInfo[] {
  const catalog = toolCatalog();
  const order = [...new Set(catalog.map((t) => t.category))];
  return order.flatMap((c) => catalog.filter((t) => t.category === c));
}

/** Registers `tools` on `program`. */
export function registerToolsCommand(program: Command, io: CliIo): void {
  program.command("tools")
    .description("list the agent's built-in tools (offline); mandatory ones are always enabled")
    .option("--json", "machine-readable output")
    .action((opts: { json?: boolean }) =>
      printListing(io, opts, catalogByCategory(), TOOL_COLUMNS, "No tools.")
    );
}
