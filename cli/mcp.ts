/**
 * `ironclaw mcp add|list|tools|remove|grant`: MCP servers and per-tool
 * grants. `add` proposes an `mcp_register` change and `grant` an `mcp_access`
 * change; a human approves each (`ironclaw change approve`). A grant's
 * proposal records each tool's description and input schema as the server
 * offers it then: `change show` prints them, and the approval pins them.
 *
 * @module
 */
import type { Command } from "commander";
import { McpRegisterPayload } from "../contract/changes.ts";
import { defaultActor, describeTools } from "./change.ts";
import { ApiClient, type ClientFlags, withClientFlags } from "./client.ts";
import { CliError } from "./errors.ts";
import { type CliIo, printJson, printListing } from "./output.ts";

/** `VAR=VALUE` pairs into a record; a one-line error for a bad one. */
function pairs(list: readonly string[], flag: string): Record<string, string> | undefined {
  if (list.length === 0) return undefined;
  return Object.fromEntries(list.map((item) => {
    const at = item.indexOf("=");
    if (at <= 0) throw new CliError(`${flag} ${item}: expected NAME=VALUE`);
    return [item.slice(0, at), item.slice(at + 1)];
  }));
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** Registers `mcp` and its subcommands on `program`. */
export function registerMcpCommands(program: Command, io: CliIo): void {
  const mcp = program.command("mcp").description(
    "MCP servers: tools for agents, granted per tool by a human",
  );

  withClientFlags(
    mcp.command("add")
      .description("propose registering an MCP server: a local stdio command or a remote streamable-HTTP URL")
      .argument("<name>", "the server's name (lower-case letters, digits, -)")
      .argument("[args...]", "the command's arguments (after --)")
      .option(
        "--command <cmd>",
        "a local stdio server's program: an absolute path or a name on the host's PATH",
      )
      .option(
        "--path <dir>",
        "a host file or directory the stdio server needs, bound read-only at the same path (repeatable)",
        collect,
        [],
      )
      .option("--url <url>", "a remote server's streamable-HTTP endpoint")
      .option("--env <VAR=VALUE>", "an environment variable for a stdio server (repeatable)", collect, [])
      .option(
        "--env-secret <VAR=SECRET>",
        "a stdio server's variable VAR set from vault secret SECRET at each start (repeatable; ironclaw vault set)",
        collect,
        [],
      )
      .option("--header <NAME=VALUE>", "a header for a remote server (repeatable)", collect, [])
      .option("--description <text>", "what the server is for")
      .option("--requested-by <who>", "who proposes it (default cli:$USER)")
      .addHelpText(
        "after",
        `
Where a stdio server runs: in a sandbox of its own, the agents' backend (runsc, else bwrap), with no
network, a read-only root and uid 65532. It sees only the host's library directories, its program's
directory and each --path, all read-only at their host paths (so readable by uid 65532: world-readable),
and a 64 MiB /tmp of its own (also HOME and its working directory), gone when it stops. So install the
server first and register what runs:
  a binary:        --command /opt/mcp/bin/server
  a Node server:   --command node --path /opt/mcp/weather -- /opt/mcp/weather/dist/index.js
  a Deno server:   --command deno --path /opt/mcp/notes -- run --allow-read=/opt/mcp/notes /opt/mcp/notes/main.js
Launchers that download at start (npx -y, uvx) cannot: there is no network, and no process may start
another. Its environment is exactly --env and --env-secret (plus PATH and HOME): never the host's, no
model key, no other server's secrets; an --env-secret value is read from the vault at each start and is
never in the catalog, argv or logs. serve --mcp-allow-host-process runs stdio servers as bare host
processes instead (WEAKER). A remote server (--url) is reached from the host: https, or a private
port let through with serve --egress-allow-private.`,
      ),
  ).action(async (
    name: string,
    args: string[],
    opts: ClientFlags & {
      command?: string;
      path: string[];
      url?: string;
      env: string[];
      envSecret: string[];
      header: string[];
      description?: string;
      requestedBy?: string;
    },
  ) => {
    if ((opts.command === undefined) === (opts.url === undefined)) {
      throw new CliError(
        "give exactly one of --command CMD [-- ARGS…] (stdio) or --url URL (streamable HTTP)",
      );
    }
    const parsed = McpRegisterPayload.safeParse({
      name,
      transport: opts.command !== undefined ? "stdio" : "http",
      command: opts.command,
      args: opts.command !== undefined && args.length > 0 ? args : undefined,
      url: opts.url,
      env: pairs(opts.env, "--env"),
      envSecrets: pairs(opts.envSecret, "--env-secret"),
      paths: opts.path.length > 0 ? opts.path : undefined,
      headers: pairs(opts.header, "--header"),
      description: opts.description,
    });
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new CliError(`${issue.path.length > 0 ? issue.path.join(".") : name}: ${issue.message}`);
    }
    const record = await ApiClient.fromFlags(opts).call((api) =>
      api.v1.mcp.servers.$post({
        json: { server: parsed.data, requestedBy: opts.requestedBy ?? defaultActor() },
      })
    );
    if (record.status === "rejected") throw new CliError(`the registration was refused: ${record.reason}`);
    io.out(`proposed ${record.request.id}: register MCP server ${name}`);
    io.out(`approve with: ironclaw change approve ${record.request.id}`);
  });

  withClientFlags(
    mcp.command("list")
      .description("list the registered MCP servers")
      .option("--json", "machine-readable output"),
  ).action(async (opts: ClientFlags & { json?: boolean }) => {
    const rows = await ApiClient.fromFlags(opts).call((api) => api.v1.mcp.servers.$get());
    printListing(io, opts, rows, [
      { header: "NAME", cell: (s) => s.name },
      { header: "TRANSPORT", cell: (s) => s.transport },
      { header: "TARGET", cell: (s) => s.url ?? [s.command, ...s.args ?? []].join(" ") },
      { header: "REGISTERED", cell: (s) => s.registeredAt },
    ], "No MCP server is registered. Add one with: ironclaw mcp add NAME --command CMD -- ARGS…");
  });

  withClientFlags(
    mcp.command("tools")
      .description("what a server offers now: each tool's description and input schema")
      .argument("<name>", "the server")
      .option("--json", "machine-readable output"),
  ).action(async (name: string, opts: ClientFlags & { json?: boolean }) => {
    const answer = await ApiClient.fromFlags(opts).call((api) =>
      api.v1.mcp.servers[":name"].tools.$get({ param: { name } })
    );
    if (opts.json) return printJson(io, answer);
    if (answer.tools.length === 0) return io.out(`${name} offers no tools`);
    for (const line of describeTools(answer.tools)) io.out(line);
  });

  withClientFlags(
    mcp.command("remove")
      .description("remove a server from the catalog (its grants then reach nothing)")
      .argument("<name>", "the server"),
  ).action(async (name: string, opts: ClientFlags) => {
    await ApiClient.fromFlags(opts).call((api) => api.v1.mcp.servers[":name"].$delete({ param: { name } }));
    io.out(`removed ${name}`);
  });

  withClientFlags(
    mcp.command("grants")
      .description("an agent's granted tools: live, withheld (changed since approval) or gone")
      .requiredOption("--agent <group>", "the agent group")
      .option("--json", "machine-readable output"),
  ).action(async (opts: ClientFlags & { agent: string; json?: boolean }) => {
    const answer = await ApiClient.fromFlags(opts).call((api) =>
      api.v1.mcp.grants[":id"].$get({ param: { id: opts.agent } })
    );
    if (opts.json) return printJson(io, answer);
    printListing(
      io,
      opts,
      answer.tools,
      [
        { header: "SERVER", cell: (t) => t.server },
        { header: "TOOL", cell: (t) => t.tool },
        {
          header: "STATE",
          cell: (t) => t.state === "withheld" ? "WITHHELD (changed since approval)" : t.state,
        },
      ],
      `${opts.agent} has no MCP tools granted (propose some with: ironclaw mcp grant NAME --agent ${opts.agent})`,
    );
    for (const u of answer.unreachable) {
      io.out(`${u.server}: unreachable, its tools are withheld: ${u.error}`);
    }
    if (answer.tools.some((t) => t.state === "withheld")) {
      io.out(`re-approve a changed tool with: ironclaw mcp grant SERVER --agent ${opts.agent} --tools …`);
    }
  });

  withClientFlags(
    mcp.command("grant")
      .description("propose that an agent may use a server's tools, as the server offers them now")
      .argument("<name>", "the server")
      .requiredOption("--agent <group>", "the agent group")
      .option("--tools <a,b>", "only these tools (default: every tool offered now)")
      .option("--requested-by <who>", "who proposes it (default cli:$USER)"),
  ).action(
    async (name: string, opts: ClientFlags & { agent: string; tools?: string; requestedBy?: string }) => {
      const tools = opts.tools?.split(",").map((t) => t.trim()).filter((t) => t !== "");
      const client = ApiClient.fromFlags(opts);
      const record = await client.call((api) =>
        api.v1.mcp.servers[":name"].grants.$post({
          param: { name },
          json: { agentGroupId: opts.agent, tools, requestedBy: opts.requestedBy ?? defaultActor() },
        })
      );
      if (record.status === "rejected") throw new CliError(`the grant was refused: ${record.reason}`);
      io.out(
        `proposed ${record.request.id}: ${opts.agent} may use ${
          tools?.join(", ") ?? "every tool"
        } of ${name}`,
      );
      io.out(`see what it grants: ironclaw change show ${record.request.id}`);
      io.out(`approve with: ironclaw change approve ${record.request.id}`);
    },
  );
}
