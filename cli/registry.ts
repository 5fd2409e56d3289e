/**
 * `ironclaw registry …`: operator-direct listings and edits of the registry
 * (agents, chats, wirings, people, destinations, sessions). These bypass the
 * gateway and need the admin token; capability changes belong in `change`.
 *
 * @module
 */
import { type Command, Option } from "commander";
import {
  EngageMode,
  IgnoredMessagePolicy,
  SenderScope,
  SessionMode,
  UnknownSenderPolicy,
} from "../contract/enums.ts";
import { RoleName } from "../contract/changes.ts";
import type { AgentGroup, MessagingGroup, Session, Wiring } from "../src/registry/mod.ts";
import { ApiClient, type ClientFlags, withClientFlags } from "./client.ts";
import { CliError } from "./errors.ts";
import { type CliIo, type Column, formatAge, printJson, printListing, splitList } from "./output.ts";

type ListFlags = ClientFlags & { json?: boolean };

/** Parses an integer flag such as `--priority`. */
export function parseInteger(value: string): number {
  if (!/^-?\d+$/.test(value.trim())) {
    throw new CliError(`expected a whole number, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

/** Columns of the agent-group listing (shared with `agent list`). */
export const AGENT_GROUP_COLUMNS: Column<AgentGroup>[] = [
  { header: "ID", cell: (g) => g.id },
  { header: "NAME", cell: (g) => g.name },
  { header: "PROVIDER", cell: (g) => g.provider ?? "(default)" },
  { header: "MODEL", cell: (g) => g.model ?? "(default)" },
  { header: "TOOLS", cell: (g) => g.enabledTools === null ? "all" : g.enabledTools.join(",") },
];

const MESSAGING_GROUP_COLUMNS: Column<MessagingGroup>[] = [
  { header: "ID", cell: (m) => m.id },
  { header: "CHANNEL", cell: (m) => m.channelType },
  { header: "PLATFORM-ID", cell: (m) => m.platformId },
  { header: "INSTANCE", cell: (m) => m.instance },
  { header: "GROUP", cell: (m) => (m.isGroup ? "yes" : "no") },
  { header: "UNKNOWN-SENDERS", cell: (m) => m.unknownSenderPolicy },
];

const WIRING_COLUMNS: Column<Wiring>[] = [
  { header: "ID", cell: (w) => w.id },
  { header: "MESSAGING-GROUP", cell: (w) => w.messagingGroupId },
  { header: "AGENT", cell: (w) => w.agentGroupId },
  {
    header: "ENGAGE",
    cell: (w) => (w.engageMode === "pattern" ? `pattern /${w.engagePattern}/` : w.engageMode),
  },
  { header: "SENDERS", cell: (w) => w.senderScope },
  { header: "SESSION", cell: (w) => w.sessionMode },
  { header: "PRIORITY", cell: (w) => w.priority },
];

const SESSION_COLUMNS: Column<Session>[] = [
  { header: "ID", cell: (s) => s.id },
  { header: "AGENT", cell: (s) => s.agentGroupId },
  { header: "MESSAGING-GROUP", cell: (s) => s.messagingGroupId },
  { header: "THREAD", cell: (s) => s.threadId },
  { header: "CONTAINER", cell: (s) => s.containerStatus },
  { header: "LAST-ACTIVE", cell: (s) => formatAge(s.lastActive) },
];

const enc = encodeURIComponent;

/** Registers `registry` and its subcommands on `program`. */
export function registerRegistryCommands(program: Command, io: CliIo): void {
  const registry = program.command("registry")
    .description("operator-direct registry listings and edits (bypass the gateway; admin token)");

  const listing = (name: string, description: string) =>
    withClientFlags(
      registry.command(name).description(description).option("--json", "machine-readable output"),
    );

  listing("agent-groups", "list agent groups")
    .action(async (opts: ListFlags) => {
      const rows = await ApiClient.fromFlags(opts).call((api) => api.v1.registry["agent-groups"].$get());
      printListing(io, opts, rows, AGENT_GROUP_COLUMNS, "No agent groups.");
    });
  listing("messaging-groups", "list messaging groups (chats)")
    .action(async (opts: ListFlags) => {
      const rows = await ApiClient.fromFlags(opts).call((api) => api.v1.registry["messaging-groups"].$get());
      printListing(io, opts, rows, MESSAGING_GROUP_COLUMNS, "No messaging groups.");
    });
  listing("wirings", "list wirings (chat → agent routing rules)")
    .action(async (opts: ListFlags) => {
      const rows = await ApiClient.fromFlags(opts).call((api) => api.v1.registry.wirings.$get());
      printListing(io, opts, rows, WIRING_COLUMNS, "No wirings.");
    });
  listing("sessions", "list sessions")
    .option("--agent <group>", "only this agent group's sessions")
    .action(async (opts: ListFlags & { agent?: string }) => {
      const rows = await ApiClient.fromFlags(opts).call((api) =>
        api.v1.registry.sessions.$get({ query: { agentGroupId: opts.agent } })
      );
      printListing(io, opts, rows, SESSION_COLUMNS, "No sessions.");
    });

  withClientFlags(
    registry.command("put-agent-group")
      .description("create or update an agent group directly (no gateway)")
      .argument("<id>", "agent group id")
      .requiredOption("--name <name>", "display name")
      .option("--folder <folder>", "durable folder name (default: the id)")
      .option("--provider <provider>", "model provider")
      .option("--model <model>", "model")
      .option("--tools <list>", "comma-separated tool allowlist ('all' for every tool)")
      .option("--json", "print the agent group as JSON"),
  ).action(async (
    id: string,
    opts: ClientFlags & {
      name: string;
      folder?: string;
      provider?: string;
      model?: string;
      tools?: string;
      json?: boolean;
    },
  ) => {
    const body = {
      name: opts.name,
      folder: opts.folder,
      provider: opts.provider,
      model: opts.model,
      enabledTools: opts.tools === undefined
        ? undefined
        : opts.tools === "all"
        ? null
        : splitList(opts.tools),
    };
    const group = await ApiClient.fromFlags(opts).call((api) =>
      api.v1.registry["agent-groups"][":id"].$put({ param: { id: enc(id) }, json: body })
    );
    if (opts.json) return printJson(io, group);
    io.out(`agent group ${group.id} saved`);
  });

  withClientFlags(
    registry.command("add-messaging-group")
      .description("get or create a messaging group (a chat on a channel)")
      .requiredOption("--channel <type>", "channel type, e.g. telegram, slack, webchat")
      .requiredOption("--platform <id>", "the chat's id on that platform")
      .option("--instance <name>", "adapter instance (default: the channel type)")
      .option("--group", "the chat has several people")
      .addOption(
        new Option("--policy <policy>", "what to do with unknown senders").choices(
          UnknownSenderPolicy.options,
        ),
      )
      .option("--json", "print the messaging group as JSON"),
  ).action(async (
    opts: ClientFlags & {
      channel: string;
      platform: string;
      instance?: string;
      group?: boolean;
      /** One of the `.choices()` commander checked. */
      policy?: UnknownSenderPolicy;
      json?: boolean;
    },
  ) => {
    const mg = await ApiClient.fromFlags(opts).call((api) =>
      api.v1.registry["messaging-groups"].$post({
        json: {
          channelType: opts.channel,
          platformId: opts.platform,
          instance: opts.instance,
          isGroup: opts.group,
          unknownSenderPolicy: opts.policy,
        },
      })
    );
    if (opts.json) return printJson(io, mg);
    io.out(`messaging group ${mg.id} (${mg.channelType} ${mg.platformId})`);
  });

  withClientFlags(
    registry.command("add-wiring")
      .description("route a messaging group to an agent group")
      .requiredOption("--messaging-group <id>", "messaging group id")
      .requiredOption("--agent <group>", "agent group id")
      .addOption(
        new Option("--engage <mode>", "when the agent engages").choices(EngageMode.options)
          .makeOptionMandatory(),
      )
      .option("--pattern <regex>", "the regular expression of --engage pattern")
      .addOption(new Option("--scope <scope>", "which senders count").choices(SenderScope.options))
      .addOption(
        new Option("--ignored <policy>", "messages that do not engage").choices(IgnoredMessagePolicy.options),
      )
      .addOption(new Option("--session <mode>", "how sessions are partitioned").choices(SessionMode.options))
      .option("--priority <n>", "higher wins", parseInteger)
      .option("--id <id>", "wiring id (default: generated)")
      .option("--json", "print the wiring as JSON"),
  ).action(async (
    opts: ClientFlags & {
      messagingGroup: string;
      agent: string;
      // The enumerations are the `.choices()` commander checked.
      engage: EngageMode;
      pattern?: string;
      scope?: SenderScope;
      ignored?: IgnoredMessagePolicy;
      session?: SessionMode;
      priority?: number;
      id?: string;
      json?: boolean;
    },
  ) => {
    const wiring = await ApiClient.fromFlags(opts).call((api) =>
      api.v1.registry.wirings.$post({
        json: {
          id: opts.id,
          messagingGroupId: opts.messagingGroup,
          agentGroupId: opts.agent,
          engageMode: opts.engage,
          engagePattern: opts.pattern,
          senderScope: opts.scope,
          ignoredMessagePolicy: opts.ignored,
          sessionMode: opts.session,
          priority: opts.priority,
        },
      })
    );
    if (opts.json) return printJson(io, wiring);
    io.out(`wiring ${wiring.id}: ${wiring.messagingGroupId} → ${wiring.agentGroupId} (${wiring.engageMode})`);
  });

  withClientFlags(
    registry.command("grant-role")
      .description("grant a user a role, on one agent group or globally")
      .requiredOption("--user <id>", "user id, e.g. telegram:12345")
      .addOption(new Option("--role <role>", "role").choices(RoleName.options).makeOptionMandatory())
      .option("--agent <group>", "agent group (omit for a global role)"),
  ).action(async (opts: ClientFlags & { user: string; role: RoleName; agent?: string }) => {
    await ApiClient.fromFlags(opts).call((api) =>
      api.v1.registry.roles.$post({ json: { userId: opts.user, role: opts.role, agentGroupId: opts.agent } })
    );
    io.out(`granted ${opts.role} to ${opts.user}${opts.agent ? ` on ${opts.agent}` : " globally"}`);
  });

  withClientFlags(
    registry.command("add-member")
      .description("make a user a member of an agent group")
      .requiredOption("--user <id>", "user id")
      .requiredOption("--agent <group>", "agent group id"),
  ).action(async (opts: ClientFlags & { user: string; agent: string }) => {
    await ApiClient.fromFlags(opts).call((api) =>
      api.v1.registry.members.$post({ json: { userId: opts.user, agentGroupId: opts.agent } })
    );
    io.out(`${opts.user} is a member of ${opts.agent}`);
  });

  withClientFlags(
    registry.command("remove-member")
      .description("end a user's membership of an agent group (audited; idempotent)")
      .requiredOption("--user <id>", "user id")
      .requiredOption("--agent <group>", "agent group id"),
  ).action(async (opts: ClientFlags & { user: string; agent: string }) => {
    await ApiClient.fromFlags(opts).call((api) =>
      api.v1.registry.members.remove.$post({ json: { userId: opts.user, agentGroupId: opts.agent } })
    );
    io.out(`${opts.user} is no longer a member of ${opts.agent}`);
  });

  withClientFlags(
    registry.command("add-destination")
      .description("allow an agent group to send to a chat")
      .requiredOption("--agent <group>", "agent group id")
      .requiredOption("--channel <type>", "channel type")
      .requiredOption("--platform <id>", "the chat's id on that platform")
      .option("--display-name <name>", "how the agent refers to it")
      .option("--json", "print the destination as JSON"),
  ).action(async (
    opts: ClientFlags & {
      agent: string;
      channel: string;
      platform: string;
      displayName?: string;
      json?: boolean;
    },
  ) => {
    const dest = await ApiClient.fromFlags(opts).call((api) =>
      api.v1.registry.destinations.$post({
        json: {
          agentGroupId: opts.agent,
          channelType: opts.channel,
          platformId: opts.platform,
          displayName: opts.displayName,
        },
      })
    );
    if (opts.json) return printJson(io, dest);
    io.out(`${dest.agentGroupId} may send to ${dest.channelType} ${dest.platformId}`);
  });
}
