/**
 * `ironclaw status`: what a running control plane says about itself:
 * health and version, readiness, agents, changes waiting for a human, and
 * which sandbox runs its agents (the process backend is labelled as no
 * sandbox at all).
 *
 * @module
 */
import type { Command } from "commander";
import type { InferResponseType } from "hono/client";
import type { ApiRpc } from "../src/api/mod.ts";
import { describeCustody } from "./key_custody.ts";
import { ApiClient, type ClientFlags, withClientFlags } from "./client.ts";
import type { CliIo } from "./output.ts";
import { printJson } from "./output.ts";

/** `/v1/status`'s answer. */
type StatusAnswer = InferResponseType<ApiRpc["v1"]["status"]["$get"], 200>;

/** The status report (`--json` prints exactly this). */
export interface StatusReport {
  url: string;
  version: string | null;
  ready: boolean;
  readyReason: string | null;
  agents: number;
  pendingChanges: number;
  /** The sandbox backend that runs the agents; null when none could be chosen (`isolatorError` says why). */
  isolator: StatusAnswer["isolator"];
  isolatorError: string | null;
  /** How the control plane keeps its master key. */
  keyCustody: StatusAnswer["keyCustody"];
  /** Per model host: calls, errors, the last error, failing now (as the model proxy saw them). */
  providers: StatusAnswer["providers"];
  /** Sessions parked after repeated sandbox failures. */
  parked: StatusAnswer["parked"];
  /** Registered MCP servers, and where stdio ones run. */
  mcp: StatusAnswer["mcp"];
  /** Live sandboxes, and the sessions whose idle sandbox was stopped until their next message. */
  sandboxes: StatusAnswer["sandboxes"];
}

/** Gathers the report from the API. */
export async function gatherStatus(client: ApiClient): Promise<StatusReport> {
  const health = await client.call((api) => api.healthz.$get());
  const readiness = (await client.answer((api) => api.readyz.$get(), [503])).body;
  const ready = readiness.status === "ready";
  const [agents, pending, status] = await Promise.all([
    client.call((api) => api.v1.registry["agent-groups"].$get()),
    client.call((api) => api.v1.changes.pending.$get()),
    client.call((api) => api.v1.status.$get()),
  ]);
  return {
    url: client.baseUrl,
    version: health.version,
    ready,
    readyReason: readiness.status === "ready" ? null : readiness.reason,
    agents: agents.length,
    pendingChanges: pending.length,
    isolator: status.isolator,
    isolatorError: status.isolatorError ?? null,
    keyCustody: status.keyCustody,
    providers: status.providers,
    parked: status.parked,
    mcp: status.mcp,
    sandboxes: status.sandboxes,
  };
}

/** One line per model host: `ok` or `FAILING`, its counts and its last error. */
function describeProviders(providers: StatusReport["providers"]): string[] {
  if (providers.length === 0) return ["models:        no model calls yet"];
  return providers.map((p, i) => {
    const state = p.failing ? `FAILING (${p.consecutiveFailures} in a row)` : "ok";
    const last = p.lastError ? `; last error ${p.lastError.time}: ${p.lastError.cause}` : "";
    const label = i === 0 ? "models:       " : "             ";
    return `${label} ${p.host} ${state}, ${p.calls} calls, ${p.errors} errors${last}`;
  });
}

/** One line per parked session, with the command that releases it. */
function describeParked(parked: StatusReport["parked"]): string[] {
  if (parked.length === 0) return ["parked:        none"];
  return parked.map((p, i) =>
    `${
      i === 0 ? "parked:       " : "             "
    } ${p.sessionId} (agent ${p.agentGroupId}, ${p.failures} failures${
      p.reason ? `: ${p.reason}` : ""
    }); release with \`ironclaw session unpark ${p.sessionId}\``
  );
}

/** The report as lines for people. */
export function describeStatus(s: StatusReport): string[] {
  return [
    `control plane: ${s.url} (version ${s.version ?? "unknown"})`,
    `ready:         ${s.ready ? "yes" : `no (${s.readyReason})`}`,
    `agents:        ${s.agents}`,
    `pending:       ${s.pendingChanges} change${s.pendingChanges === 1 ? "" : "s"} awaiting approval`,
    `sandbox:       ${s.isolator?.label ?? `none (${s.isolatorError ?? "not reported"})`}`,
    `key custody:   ${describeCustody(s.keyCustody)}`,
    ...describeProviders(s.providers),
    ...describeParked(s.parked),
    `mcp:           ${s.mcp.servers} server${s.mcp.servers === 1 ? "" : "s"}; stdio servers ${
      s.mcp.stdio === "sandbox"
        ? `run each in its own sandbox: ${s.mcp.stdioDetail}`
        : s.mcp.stdio === "host-process"
        ? "run as bare host processes (WEAKER: no sandbox)"
        : `refused (${s.mcp.stdioDetail})`
    }`,
    ...s.mcp.each.map((server) => `               ${server.name}: ${server.runs}`),
    ...s.mcp.withheld.map((w) =>
      `               WITHHELD from ${w.agentGroupId}: ${w.server}/${w.tool} changed since approval ` +
      `(re-approve: ironclaw mcp grant ${w.server} --agent ${w.agentGroupId} --tools …)`
    ),
    `sandboxes:     ${s.sandboxes.live} live, ${s.sandboxes.hibernated.length} hibernated (idle, woken by their next message), ${s.sandboxes.spares} warm spare(s)`,
  ];
}

/** Registers `status` on `program`. */
export function registerStatusCommand(program: Command, io: CliIo): void {
  withClientFlags(
    program.command("status")
      .description(
        "readiness, version, agents, pending changes and the sandbox backend of the running control plane",
      )
      .option("--json", "machine-readable output"),
  ).action(async (opts: ClientFlags & { json?: boolean }) => {
    const report = await gatherStatus(ApiClient.fromFlags(opts));
    if (opts.json) return printJson(io, report);
    for (const line of describeStatus(report)) io.out(line);
  });
}
