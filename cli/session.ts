/**
 * `ironclaw session list|show|unpark|stop`: the conversations' sandboxes as
 * an operator manages them. A session parked after repeated sandbox
 * failures launches nothing until `unpark`; `stop` ends a sandbox on purpose
 * (its queue is kept; the next message wakes it).
 *
 * @module
 */
import type { Command } from "commander";
import type { InferResponseType } from "hono/client";
import type { ApiRpc } from "../src/api/mod.ts";
import { ApiClient, type ClientFlags, withClientFlags } from "./client.ts";
import { type CliIo, type Column, formatAge, printJson, printListing } from "./output.ts";

type ListFlags = ClientFlags & { json?: boolean };
type SessionRow = InferResponseType<ApiRpc["v1"]["sessions"]["$get"], 200>[number];

/** What a session's sandbox is doing, in a word or two. */
function sandboxState(s: SessionRow): string {
  if (s.parked) return `PARKED (${s.parked.failures} failures)`;
  return s.running ? "running" : s.containerStatus;
}

const SESSION_COLUMNS: Column<SessionRow>[] = [
  { header: "ID", cell: (s) => s.id },
  { header: "AGENT", cell: (s) => s.agentGroupId },
  { header: "CHAT", cell: (s) => s.messagingGroupId },
  { header: "SANDBOX", cell: sandboxState },
  { header: "ACTIVE", cell: (s) => `${formatAge(s.lastActive)} ago` },
];

/** The path parameter of one session. */
const param = (id: string) => ({ param: { id: encodeURIComponent(id) } });

/** Registers `session` and its subcommands on `program`. */
export function registerSessionCommands(program: Command, io: CliIo): void {
  const session = program.command("session").description(
    "list, inspect, unpark and stop the conversations' sandboxes",
  );

  withClientFlags(
    session.command("list")
      .description(
        "sessions with their sandbox's state (running, stopped, PARKED), most recently active first",
      )
      .option("--agent <id>", "only this agent's sessions")
      .option("--json", "machine-readable output"),
  ).action(async (opts: ListFlags & { agent?: string }) => {
    const rows = await ApiClient.fromFlags(opts).call((api) =>
      api.v1.sessions.$get({ query: opts.agent ? { agentGroupId: opts.agent } : {} })
    );
    printListing(
      io,
      opts,
      rows,
      SESSION_COLUMNS,
      "No sessions yet: a session opens with a conversation's first message.",
    );
  });

  withClientFlags(
    session.command("show")
      .description("one session: its sandbox, why it is parked, the notices its chat got, its log")
      .argument("<id>", "session id (ses_…)")
      .option("--json", "machine-readable output"),
  ).action(async (id: string, opts: ListFlags) => {
    const s = await ApiClient.fromFlags(opts).call((api) => api.v1.sessions[":id"].$get(param(id)));
    if (opts.json) return printJson(io, s);
    io.out(`id:       ${s.id}`);
    io.out(`agent:    ${s.agentGroupId}`);
    io.out(`chat:     ${s.messagingGroupId}${s.threadId ? ` thread ${s.threadId}` : ""} (${s.sessionMode})`);
    io.out(`sandbox:  ${sandboxState(s)}`);
    if (s.parked) {
      io.out(`parked:   ${s.parked.reason || "(before this control plane started)"}`);
      io.out(`          release it with: ironclaw session unpark ${s.id}`);
    }
    io.out(`active:   ${formatAge(s.lastActive)} ago (created ${s.createdAt})`);
    if (s.logPath) io.out(`log:      ${s.logPath}`);
    for (const n of s.notices) io.out(`notice:   ${n.time} ${n.text}`);
  });

  withClientFlags(
    session.command("unpark")
      .description(
        "release a session parked after repeated sandbox failures and wake it (its queued messages wait)",
      )
      .argument("<id>", "session id (ses_…)"),
  ).action(async (id: string, opts: ClientFlags) => {
    const answer = await ApiClient.fromFlags(opts).call((api) =>
      api.v1.sessions[":id"].unpark.$post(param(id))
    );
    io.out(`unparked ${answer.id}`);
    if (answer.wakeError) {
      io.err(
        `its sandbox did not start again: ${answer.wakeError} (the backoff counts again; see \`ironclaw session show ${answer.id}\`)`,
      );
    }
  });

  withClientFlags(
    session.command("stop")
      .description(
        "stop a session's sandbox on purpose (not a failure); its queue is kept and its next message wakes it",
      )
      .argument("<id>", "session id (ses_…)"),
  ).action(async (id: string, opts: ClientFlags) => {
    const answer = await ApiClient.fromFlags(opts).call((api) =>
      api.v1.sessions[":id"].stop.$post(param(id))
    );
    io.out(`stopped ${answer.id}; its next message starts it again`);
  });
}
