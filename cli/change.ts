/**
 * `ironclaw change …`: submit capability changes to the gateway, list what
 * waits for a human, and approve or reject.
 *
 * @module
 */
import type { Command } from "commander";
import { ChangeKind } from "../contract/enums.ts";
import type { InferResponseType } from "hono/client";
import type { DecisionOutcome, JsonValue } from "../contract/mod.ts";
import type { ApiRpc } from "../src/api/mod.ts";
import type { OfferedTool } from "../src/mcp/mod.ts";
import { ApiClient, type ClientFlags, withClientFlags } from "./client.ts";
import { CliError } from "./errors.ts";
import { readSmallText } from "./files.ts";
import { type CliIo, type Column, formatAge, printJson, printListing } from "./output.ts";

/** Largest `--after @file` read, in bytes. */
export const MAX_AFTER_FILE_BYTES = 256 * 1024;

/** Who a change is attributed to when `--requested-by`/`--by` is not given: `cli:$USER`. */
export function defaultActor(): string {
  return `cli:${Deno.env.get("USER") || Deno.env.get("LOGNAME") || "operator"}`;
}

/** Parses `--kind`, refusing anything the gateway does not know. */
export function parseKind(value: string): ChangeKind {
  const parsed = ChangeKind.safeParse(value);
  if (!parsed.success) {
    throw new CliError(
      `unknown change kind ${JSON.stringify(value)}: expected one of ${ChangeKind.options.join(", ")}`,
    );
  }
  return parsed.data;
}

/** Parses `--after`: inline JSON, or `@path` naming a JSON file. */
export async function parseAfter(value: string): Promise<JsonValue> {
  let text = value;
  let source = "--after";
  if (value.startsWith("@")) {
    const path = value.slice(1);
    source = `--after file ${path}`;
    text = await readSmallText(path, MAX_AFTER_FILE_BYTES, "--after file");
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError(`${source} is not valid JSON: ${(err as Error).message}`);
  }
}

/** A change as the API answers it. */
export type ChangeView = InferResponseType<ApiRpc["v1"]["changes"][":id"]["$get"], 200>;

const age = (r: ChangeView) => formatAge(r.request.createdAt);

const PENDING_COLUMNS: Column<ChangeView>[] = [
  { header: "ID", cell: (r) => r.request.id },
  { header: "KIND", cell: (r) => r.request.kind },
  { header: "AGENT", cell: (r) => r.request.agentGroupId },
  { header: "REQUESTED-BY", cell: (r) => r.request.requestedBy },
  { header: "AGE", cell: age },
  { header: "REASON", cell: (r) => r.request.rationale },
  { header: "CHANGE", cell: (r) => r.diff.join("; ") },
];

const HISTORY_COLUMNS: Column<ChangeView>[] = [
  { header: "ID", cell: (r) => r.request.id },
  { header: "KIND", cell: (r) => r.request.kind },
  { header: "AGENT", cell: (r) => r.request.agentGroupId },
  { header: "STATUS", cell: (r) => r.status },
  { header: "DECIDED-BY", cell: (r) => r.decision?.decidedBy },
  { header: "AGE", cell: age },
];

/** The lines that show one tool: its name, description and input schema. */
export function describeTools(tools: readonly OfferedTool[]): string[] {
  return tools.flatMap((t) => [
    `${t.name}: ${t.description || "(no description)"}`,
    `  input schema: ${JSON.stringify(t.inputSchema)}`,
    `  hash:         ${t.hash}`,
  ]);
}

/** An `mcp_access` change's tools as its approver is shown them (and the approval pins). */
async function showOfferedTools(io: CliIo, opts: ClientFlags, id: string): Promise<void> {
  const answer = await ApiClient.fromFlags(opts).call((api) =>
    api.v1.mcp.offers[":id"].$get({ param: { id: encodeURIComponent(id) } })
  ).catch(() => undefined);
  if (!answer) {
    return io.out("tools:        none recorded (approving it grants nothing until proposed with mcp grant)");
  }
  io.out(`tools granted, as ${answer.server} offered them when proposed (approval pins these):`);
  for (const line of describeTools(answer.tools)) io.out(`  ${line}`);
}

/** The lines `change show` prints for one record. */
export function describeRecord(r: ChangeView): string[] {
  const lines = [
    `id:           ${r.request.id}`,
    `kind:         ${r.request.kind}`,
    `agent group:  ${r.request.agentGroupId}`,
    `requested by: ${r.request.requestedBy}`,
    `reason:       ${r.request.rationale ?? "(none given)"}`,
    `created:      ${r.request.createdAt}`,
    `status:       ${r.status}`,
  ];
  if (r.verdict) {
    lines.push(`verdict:      ${r.verdict}${r.reason ? ` (${r.reason}, said the verifiers)` : ""}`);
  }
  if (r.decision) {
    lines.push(`decision:     ${r.decision.outcome} by ${r.decision.decidedBy} at ${r.decision.decidedAt}`);
  }
  if (r.appliedAt) lines.push(`applied:      ${r.appliedAt}`);
  lines.push("what it does:", ...r.diff.map((l) => `  ${l}`));
  return lines;
}

async function decide(
  io: CliIo,
  id: string,
  outcome: DecisionOutcome,
  opts: ClientFlags & { by?: string; json?: boolean },
): Promise<void> {
  const client = ApiClient.fromFlags(opts);
  const answer = await client.call((api) =>
    api.v1.changes[":id"].decision.$post({
      param: { id: encodeURIComponent(id) },
      json: { outcome, decidedBy: opts.by ?? defaultActor() },
    })
  );
  if (opts.json) printJson(io, answer);
  else {
    io.out(`${outcome === "approve" ? "approved" : "rejected"} ${id}: status ${answer.record.status}`);
    if (answer.record.request.kind === "create_agent" && answer.record.status === "applied") {
      io.out(`talk to it with: ironclaw chat ${answer.record.request.agentGroupId}`);
    }
  }
  if (answer.applyError) throw new CliError(`${id} was approved but failed to apply: ${answer.applyError}`);
}

/** Registers `change` and its subcommands on `program`. */
export function registerChangeCommands(program: Command, io: CliIo): void {
  const change = program.command("change").description("propose, list and decide capability changes");

  withClientFlags(
    change.command("submit")
      .description("submit a change to the gateway; it waits for a human decision")
      .requiredOption("--kind <kind>", `what changes: ${ChangeKind.options.join(", ")}`)
      .requiredOption("--agent <group>", "the agent group it applies to")
      .requiredOption("--after <json>", "the payload: inline JSON or @file")
      .option("--requested-by <who>", "who proposes it (default cli:$USER)")
      .option("--reason <text>", "why it is needed (the approver sees it)")
      .option("--json", "print the change record as JSON"),
  ).action(async (
    opts: ClientFlags & {
      kind: string;
      agent: string;
      after: string;
      requestedBy?: string;
      reason?: string;
      json?: boolean;
    },
  ) => {
    const kind = parseKind(opts.kind);
    const after = await parseAfter(opts.after);
    const client = ApiClient.fromFlags(opts);
    const record = await client.call((api) =>
      api.v1.changes.$post({
        json: {
          kind,
          agentGroupId: opts.agent,
          requestedBy: opts.requestedBy ?? defaultActor(),
          rationale: opts.reason,
          after,
        },
      })
    );
    if (opts.json) return printJson(io, record);
    if (record.status === "rejected") {
      throw new CliError(
        `${record.request.id} was rejected by a verifier: ${record.reason ?? "no reason given"}`,
      );
    }
    io.out(`submitted ${record.request.id} (${kind} for ${record.request.agentGroupId}): ${record.status}`);
    io.out(`approve with: ironclaw change approve ${record.request.id}`);
  });

  withClientFlags(
    change.command("pending")
      .description("list changes waiting for a human decision, oldest first")
      .option("--json", "machine-readable output"),
  ).action(async (opts: ClientFlags & { json?: boolean }) => {
    const rows = await ApiClient.fromFlags(opts).call((api) => api.v1.changes.pending.$get());
    printListing(io, opts, rows, PENDING_COLUMNS, "No changes awaiting approval.");
    if (!opts.json && rows.length) io.out("Decide with: ironclaw change approve|reject <id>");
  });

  withClientFlags(
    change.command("history")
      .description("list decided changes (approved, rejected, applied), oldest first")
      .option("--json", "machine-readable output"),
  ).action(async (opts: ClientFlags & { json?: boolean }) => {
    const rows = await ApiClient.fromFlags(opts).call((api) => api.v1.changes.history.$get());
    printListing(io, opts, rows, HISTORY_COLUMNS, "No decided changes yet.");
  });

  withClientFlags(
    change.command("show")
      .description("show one change")
      .argument("<id>", "change id")
      .option("--json", "machine-readable output"),
  ).action(async (id: string, opts: ClientFlags & { json?: boolean }) => {
    const record = await ApiClient.fromFlags(opts).call((api) =>
      api.v1.changes[":id"].$get({ param: { id: encodeURIComponent(id) } })
    );
    if (opts.json) return printJson(io, record);
    for (const line of describeRecord(record)) io.out(line);
    if (record.request.kind === "mcp_access") await showOfferedTools(io, opts, record.request.id);
  });

  for (const [name, outcome] of [["approve", "approve"], ["reject", "reject"]] as const) {
    withClientFlags(
      change.command(name)
        .description(`${name} a pending change${outcome === "approve" ? " (it is applied at once)" : ""}`)
        .argument("<id>", "change id")
        .option("--by <who>", "who decides (default cli:$USER)")
        .option("--json", "print the decision's answer as JSON"),
    ).action((id: string, opts: ClientFlags & { by?: string; json?: boolean }) =>
      decide(io, id, outcome, opts)
    );
  }
}
