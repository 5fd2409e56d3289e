/**
 * `ironclaw agent …`: propose new agents (a `create_agent` change that a
 * human approves), list and show them, and list the starter templates.
 *
 * @module
 */
import type { Command } from "commander";
import {
  type AgentTemplate,
  LEAST_PRIVILEGE_TOOLS,
  PERSONA_SECTIONS,
  TEMPLATES,
} from "../src/catalog/mod.ts";
import type { MemoryPartition } from "../contract/mod.ts";
import { CONSOLE_USER_ID } from "../src/control_plane/mod.ts";
import { type AgentProposal, buildAgentProposal, describeProposal } from "./agent_proposal.ts";
import { runAgentWizard } from "./agent_wizard.ts";
import { type ChangeView, defaultActor } from "./change.ts";
import { ApiClient, type ClientFlags, withClientFlags } from "./client.ts";
import { CliError } from "./errors.ts";
import { readPersonaDir } from "./files.ts";
import { registerMountCommands } from "./mount.ts";
import { type CliIo, type Column, printJson, printListing, splitList } from "./output.ts";
import { AGENT_GROUP_COLUMNS } from "./registry.ts";

/** Submits `proposal` as a `create_agent` change and reports it. */
export async function submitAgentProposal(
  io: CliIo,
  client: ApiClient,
  proposal: AgentProposal,
  requestedBy: string,
  json = false,
): Promise<ChangeView> {
  const record = await client.call((api) =>
    api.v1.changes.$post({
      json: {
        kind: "create_agent",
        agentGroupId: proposal.agentGroupId,
        requestedBy,
        after: proposal.payload,
      },
    })
  );
  if (json) printJson(io, record);
  if (record.status === "rejected") {
    throw new CliError(
      `${record.request.id} was rejected by a verifier: ${record.reason ?? "no reason given"}`,
    );
  }
  if (!json) {
    io.out(`submitted ${record.request.id}: create agent ${proposal.agentGroupId} (${record.status})`);
    io.out(`a human approves it with: ironclaw change approve ${record.request.id}`);
  }
  return record;
}

const TEMPLATE_COLUMNS: Column<AgentTemplate>[] = [
  { header: "ID", cell: (t) => t.id },
  { header: "NAME", cell: (t) => t.name },
  { header: "TOOLS", cell: (t) => t.tools.length },
  { header: "DESCRIPTION", cell: (t) => t.description },
];

type CreateFlags = ClientFlags & {
  name?: string;
  folder?: string;
  template?: string;
  tools?: string;
  allTools?: boolean;
  personaDir?: string;
  model?: string;
  provider?: string;
  members?: string;
  requestedBy?: string;
  json?: boolean;
};

/** Whether any flag that shapes the agent was given (otherwise a terminal gets the wizard). */
function hasShapingFlags(opts: CreateFlags): boolean {
  return [
    opts.name,
    opts.folder,
    opts.template,
    opts.tools,
    opts.allTools,
    opts.personaDir,
    opts.model,
    opts.provider,
    opts.members,
  ]
    .some((v) => v !== undefined);
}

/** What each memory partition means, for `agent show`. */
const MEMORY_PARTITION_WORDS: Record<MemoryPartition, string> = {
  group: "group: every conversation shares one /memory",
  user: "user: one /memory per person (a chat where several people talk gets its own)",
  session: "session: one /memory per conversation",
};

/** Registers `agent` and its subcommands on `program`. */
export function registerAgentCommands(program: Command, io: CliIo): void {
  const agent = program.command("agent").description("create, list and inspect agents");

  withClientFlags(
    agent.command("create")
      .description(
        "propose a new agent (a create_agent change a human approves); with no flags in a terminal, a wizard asks",
      )
      .option("--name <name>", "the agent's name (its id is derived from it)")
      .option("--folder <folder>", "folder and id (default: the name, lower-cased, spaces as '-')")
      .option("--template <id>", `starting point: ${TEMPLATES.map((t) => t.id).join(", ")}`, undefined)
      .option(
        "--tools <list>",
        "comma-separated tools added to the template's (see `ironclaw tools`); without a template or " +
          `tools, the least-privilege set: ${[...LEAST_PRIVILEGE_TOOLS].join(", ")}`,
      )
      .option("--all-tools", "every built-in tool, now and future (an explicit choice, never the default)")
      .option("--persona-dir <dir>", "directory holding IDENTITY.md, SOUL.md and/or AGENTS.md")
      .option("--model <model>", "model (default: the control plane's)")
      .option("--provider <provider>", "model provider (default: the control plane's)")
      .option(
        "--members <users>",
        `comma-separated users who may talk to it (default ${CONSOLE_USER_ID}: you, in \`ironclaw chat\`; '' for none)`,
      )
      .option("--requested-by <who>", "who proposes it (default cli:$USER)")
      .option("--json", "print the change record as JSON"),
  ).action(async (opts: CreateFlags) => {
    let proposal: AgentProposal | undefined;
    if (!hasShapingFlags(opts)) {
      if (!io.interactive) {
        throw new CliError("--name is required (or run `ironclaw agent create` in a terminal)");
      }
      proposal = await runAgentWizard(io);
      if (!proposal) return io.out("Cancelled.");
    } else {
      if (!opts.name) throw new CliError("--name is required");
      proposal = buildAgentProposal({
        name: opts.name,
        folder: opts.folder,
        template: opts.template,
        tools: opts.tools === undefined ? undefined : splitList(opts.tools),
        allTools: opts.allTools,
        persona: opts.personaDir === undefined ? undefined : await readPersonaDir(opts.personaDir),
        model: opts.model,
        provider: opts.provider,
        members: opts.members === undefined ? undefined : splitList(opts.members),
      });
      if (!opts.json) { for (const line of describeProposal(proposal)) io.out(line); }
    }
    await submitAgentProposal(
      io,
      ApiClient.fromFlags(opts),
      proposal,
      opts.requestedBy ?? defaultActor(),
      opts.json,
    );
  });

  withClientFlags(
    agent.command("list")
      .description("list agents")
      .option("--json", "machine-readable output"),
  ).action(async (opts: ClientFlags & { json?: boolean }) => {
    const rows = await ApiClient.fromFlags(opts).call((api) => api.v1.registry["agent-groups"].$get());
    printListing(
      io,
      opts,
      rows,
      AGENT_GROUP_COLUMNS,
      "No agents yet: create one with `ironclaw agent create`.",
    );
  });

  withClientFlags(
    agent.command("show")
      .description("show one agent: model, tools, persona")
      .argument("<id>", "agent group id")
      .option("--json", "machine-readable output"),
  ).action(async (id: string, opts: ClientFlags & { json?: boolean }) => {
    const g = await ApiClient.fromFlags(opts).call((api) =>
      api.v1.registry["agent-groups"][":id"].$get({ param: { id: encodeURIComponent(id) } })
    );
    if (opts.json) return printJson(io, g);
    io.out(`id:       ${g.id}`);
    io.out(`name:     ${g.name}`);
    io.out(`folder:   ${g.folder}`);
    io.out(`model:    ${g.model ?? "(control-plane default)"}${g.provider ? ` via ${g.provider}` : ""}`);
    io.out(
      `tools:    ${
        g.enabledTools === null ? "ALL built-in tools, now and future" : g.enabledTools.join(", ") || "none"
      }`,
    );
    if (g.packages.apt.length || g.packages.npm.length) {
      io.out(
        `packages: ${
          [
            ...g.packages.apt.map((p) => `apt:${p}`),
            ...g.packages.npm.map((p) => `npm:${p}`),
          ].join(", ")
        }`,
      );
    }
    for (const m of g.mounts) {
      io.out(`mount:    /mounts/${m.name} ← ${m.source} (${m.readonly ? "read-only" : "read-write"})`);
    }
    io.out(
      `memory:   ${MEMORY_PARTITION_WORDS[g.memoryPartition]}${
        g.memoryPartitionChosen ? "" : " (the default for its members; choose with a permissions change)"
      }`,
    );
    for (const s of PERSONA_SECTIONS) {
      io.out(`${s.filename}:`);
      io.out(g.personaDocs[s.key] ? g.personaDocs[s.key].replace(/^/gm, "  ") : "  (none)");
    }
  });

  registerMountCommands(agent, io);
  withClientFlags(
    agent.command("delete")
      .description(
        "propose deleting an agent (a delete_agent change a human approves): its sandboxes stop, its sessions, " +
          "wirings and members go; its workspace and memory are kept aside on the host",
      )
      .argument("<id>", "agent group id")
      .option("--reason <text>", "why (the approver sees it)")
      .option("--requested-by <who>", "who proposes it (default cli:$USER)"),
  ).action(async (id: string, opts: ClientFlags & { reason?: string; requestedBy?: string }) => {
    const record = await ApiClient.fromFlags(opts).call((api) =>
      api.v1.changes.$post({
        json: {
          kind: "delete_agent",
          agentGroupId: id,
          requestedBy: opts.requestedBy ?? defaultActor(),
          rationale: opts.reason,
          after: {},
        },
      })
    );
    if (record.status === "rejected") {
      throw new CliError(`deleting ${id} was refused: ${record.reason ?? "no reason given"}`);
    }
    io.out(`submitted ${record.request.id}: delete agent ${id} (${record.status})`);
    for (const line of record.diff) io.out(`  ${line}`);
    io.out(`a human approves it with: ironclaw change approve ${record.request.id}`);
  });

  agent.command("templates")
    .description("list the starter templates (offline)")
    .option("--json", "machine-readable output")
    .action((opts: { json?: boolean }) =>
      printListing(io, opts, TEMPLATES, TEMPLATE_COLUMNS, "No templates.")
    );
}
