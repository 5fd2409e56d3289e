/**
 * The registry's records and the inputs that create them. Each zod schema is
 * also the TypeScript type; inputs are parsed at the edge (one-line
 * `InvalidInputError`s) and records are what reads return.
 *
 * @module
 */
import { z } from "zod";
import { noControlChars } from "../../contract/ids.ts";
import { PROVIDER_HOSTS, type ProviderKind } from "../../contract/sockets.ts";
import {
  AGENT_NAME,
  AgentGroupId,
  EnabledToolsPayload,
  EngageMode,
  IgnoredMessagePolicy,
  McpAccessPayload,
  MemoryPartition,
  MessagingGroupId,
  MountName,
  MountsPayload,
  PackagesPayload,
  PersonaDocs,
  RoleName,
  SenderScope,
  SessionId,
  SessionMode,
  Timestamp,
  UnknownSenderPolicy,
  UserId,
  WiringId,
} from "../../contract/mod.ts";

/** A channel type (`slack`, `telegram`, `webchat`, …): the namespace of its users' ids. */
export const ChannelType = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, {
  message: "channel types are 1-32 lower-case letters, digits, '_' or '-', starting with a letter",
});
const PlatformId = z.string().min(1).max(256).regex(noControlChars(), {
  message: "platform ids hold no control characters",
});
const Instance = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, {
  message: "instances are 1-64 letters, digits, '.', '_' or '-'",
});
const DisplayName = z.string().max(200).regex(noControlChars(true), {
  message: "display names hold no control characters",
});
const Folder = z.string().max(64).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, {
  message: "folders hold letters, digits, '.', '_' or '-'",
}).refine((f) => !f.includes(".."), { message: "folders hold no '..'" });
const AgentName = z.string().trim().min(1).max(64).regex(AGENT_NAME, {
  message: "agent names start with a letter or digit and hold letters, digits, spaces, '.', '_' or '-'",
});

/** A tool allowlist: the contract's list form of `enabled_tools`. */
export const ToolList = EnabledToolsPayload.options[0];

/** Packages installed into the agent's sandbox image, by package manager. */
export const Packages = z.strictObject({ apt: z.array(z.string()), npm: z.array(z.string()) });
export type Packages = z.infer<typeof Packages>;
/** Input of `setPackages`: the contract's `{apt?, npm?}` form. */
export const PackagesInput = PackagesPayload.options[1];
export type PackagesInput = z.input<typeof PackagesInput>;

const isAbsolutePath = (p: string) => p.startsWith("/") && !p.split("/").includes("..") && !/\p{Cc}/u.test(p);

/** A host directory bound into the agent group's sandboxes at `/mounts/<name>`. */
export const Mount = z.strictObject({
  name: MountName,
  source: z.string(),
  readonly: z.boolean(),
});
export type Mount = z.infer<typeof Mount>;
/** A `mounts` change's payload at the edge: the contract's, with absolute sources free of `..`. */
export const MountsInput = MountsPayload.refine(
  (ms) => ms.every((m) => "remove" in m || isAbsolutePath(m.source)),
  { message: "mount sources must be absolute paths without '..' or control characters" },
);
export type MountsInput = z.input<typeof MountsInput>;
/** Input of `setMounts`: the group's whole list, names unique; `readonly` defaults to true. */
export const MountListInput = z.array(z.strictObject({
  name: MountName,
  source: z.string().refine(isAbsolutePath, {
    message: "mount sources must be absolute paths without '..' or control characters",
  }),
  readonly: z.boolean().optional(),
})).refine((ms) => new Set(ms.map((m) => m.name)).size === ms.length, {
  message: "two mounts have the same name",
});
export type MountListInput = z.input<typeof MountListInput>;

/** A grant of an MCP server's tools; `tools: null` grants every tool the server declares. */
export const McpGrant = z.strictObject({ server: z.string(), tools: z.array(z.string()).nullable() });
export type McpGrant = z.infer<typeof McpGrant>;
/** Input of `setMcpGrant`: the contract's `mcp_access` payload. */
export const McpGrantInput = McpAccessPayload;
export type McpGrantInput = z.input<typeof McpGrantInput>;

/** The three persona documents, each "" when absent. */
export const PersonaSet = z.strictObject({
  identity: z.string(),
  soul: z.string(),
  instructions: z.string(),
});
export type PersonaSet = z.infer<typeof PersonaSet>;

/** An agent: persona, model and capabilities that its sessions run with. */
export const AgentGroup = z.strictObject({
  id: AgentGroupId,
  name: z.string(),
  /** Names the agent's durable directories; unique across agents. */
  folder: z.string(),
  /** Model provider; null uses the deployment default. */
  provider: z.string().nullable(),
  /** Model; null uses the provider's default. */
  model: z.string().nullable(),
  personaDocs: PersonaSet,
  /** The tool allowlist; null allows every built-in tool. */
  enabledTools: z.array(z.string()).nullable(),
  packages: Packages,
  mounts: z.array(Mount),
  mcpGrants: z.array(McpGrant),
  /** Whose `/memory` each session's agent sees (see `partition.ts`). */
  memoryPartition: MemoryPartition,
  /** False: no partition was chosen, and the default rule gives it (`user` with more than one member, else `group`). */
  memoryPartitionChosen: z.boolean(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type AgentGroup = z.infer<typeof AgentGroup>;

/** The model providers the agent program knows. */
export const KNOWN_PROVIDERS = Object.keys(PROVIDER_HOSTS) as [ProviderKind, ...ProviderKind[]];

/** A provider an agent may name: one the agent program knows, else a one-line error listing them. */
export const ProviderName = z.enum(KNOWN_PROVIDERS, {
  error: (issue) =>
    `unknown provider ${JSON.stringify(issue.input)}: the known providers are ${KNOWN_PROVIDERS.join(", ")}`,
});

/**
 * Input of `putAgentGroup`. On create, omitted fields take defaults (folder =
 * id, no persona, every tool); on update they keep their stored values, so a
 * partial put never widens an agent. `personaDocs`, when given, replaces all
 * three documents. Packages, mounts and MCP grants change only through their
 * setters.
 */
export const AgentGroupInput = z.strictObject({
  id: AgentGroupId,
  name: AgentName,
  folder: Folder.optional(),
  provider: z.string().pipe(ProviderName).nullable().optional(),
  model: z.string().min(1).max(128).nullable().optional(),
  personaDocs: PersonaDocs.optional(),
  enabledTools: ToolList.nullable().optional(),
});
export type AgentGroupInput = z.input<typeof AgentGroupInput>;

/** What a sandbox launch needs from the registry. */
export const LaunchSpec = z.strictObject({
  agentGroupId: AgentGroupId,
  name: z.string(),
  folder: z.string(),
  provider: z.string().nullable(),
  model: z.string().nullable(),
  personaDocs: PersonaSet,
  /** The documents composed into the system-prompt text ("" when none). */
  persona: z.string(),
  enabledTools: z.array(z.string()).nullable(),
  packages: Packages,
  mounts: z.array(Mount),
  mcpGrants: z.array(McpGrant),
  memoryPartition: MemoryPartition,
});
export type LaunchSpec = z.infer<typeof LaunchSpec>;

/** A chat on some channel; unique by (channel type, platform id, instance). */
export const MessagingGroup = z.strictObject({
  id: MessagingGroupId,
  channelType: z.string(),
  platformId: z.string(),
  instance: z.string(),
  isGroup: z.boolean(),
  unknownSenderPolicy: UnknownSenderPolicy,
});
export type MessagingGroup = z.infer<typeof MessagingGroup>;

/** Input of `getOrCreateMessagingGroup`; instance defaults to the channel type, policy to `strict`. */
export const MessagingGroupInput = z.strictObject({
  channelType: ChannelType,
  platformId: PlatformId,
  instance: Instance.optional(),
  isGroup: z.boolean().default(false),
  unknownSenderPolicy: UnknownSenderPolicy.default("strict"),
});
export type MessagingGroupInput = z.input<typeof MessagingGroupInput>;

/** A routing rule from a messaging group to an agent group. */
export const Wiring = z.strictObject({
  id: WiringId,
  messagingGroupId: MessagingGroupId,
  agentGroupId: AgentGroupId,
  engageMode: EngageMode,
  /** The regular expression of `pattern` mode ("" otherwise). */
  engagePattern: z.string(),
  senderScope: SenderScope,
  ignoredMessagePolicy: IgnoredMessagePolicy,
  sessionMode: SessionMode,
  priority: z.number().int(),
});
export type Wiring = z.infer<typeof Wiring>;

/**
 * Input of `putWiring` (create, or replace by id). Defaults fail closed:
 * known senders only, ignored messages dropped, one shared session, priority 0.
 */
export const WiringInput = z.strictObject({
  id: WiringId.optional(),
  messagingGroupId: MessagingGroupId,
  agentGroupId: AgentGroupId,
  engageMode: EngageMode,
  engagePattern: z.string().max(1024).default(""),
  senderScope: SenderScope.default("known"),
  ignoredMessagePolicy: IgnoredMessagePolicy.default("drop"),
  sessionMode: SessionMode.default("shared"),
  priority: z.number().int().min(-1_000_000).max(1_000_000).default(0),
}).refine((w) => w.engageMode !== "pattern" || isRegExp(w.engagePattern), {
  message: "pattern wirings need a valid, non-empty regular expression",
  path: ["engagePattern"],
});
export type WiringInput = z.input<typeof WiringInput>;

function isRegExp(pattern: string): boolean {
  if (pattern === "") return false;
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}

/** Who a user is. */
export const UserKind = z.enum(["human", "bot", "agent"]);
export type UserKind = z.infer<typeof UserKind>;

/** A person or bot, id namespaced by channel. */
export const User = z.strictObject({ id: UserId, kind: UserKind, displayName: z.string().nullable() });
export type User = z.infer<typeof User>;

/** Input of `putUser` (create or replace); kind defaults to `human`. */
export const UserInput = z.strictObject({
  id: UserId,
  kind: UserKind.default("human"),
  displayName: DisplayName.nullable().default(null),
});
export type UserInput = z.input<typeof UserInput>;

/** A role grant; `agentGroupId` scopes an admin to one agent (owner is always global). */
export const RoleGrant = z.strictObject({
  userId: UserId,
  role: RoleName,
  agentGroupId: AgentGroupId.nullable().default(null),
});
export type RoleGrant = z.input<typeof RoleGrant>;

/** An agent's permitted send target on a channel. */
export const Destination = z.strictObject({
  agentGroupId: AgentGroupId,
  channelType: ChannelType,
  platformId: PlatformId,
  displayName: DisplayName.nullable().default(null),
});
export type Destination = z.output<typeof Destination>;
export type DestinationInput = z.input<typeof Destination>;

/** Why `canAccess` allowed or refused, strongest grant first. */
export const AccessReason = z.enum(["owner", "global-admin", "scoped-admin", "member", "no-access"]);
export type AccessReason = z.infer<typeof AccessReason>;

/** The answer of `canAccess`. */
export interface Access {
  allowed: boolean;
  reason: AccessReason;
}

/** Where a session's sandbox is in its life (`new` until the session manager first launches it). */
export const ContainerStatus = z.enum([
  "new",
  "starting",
  "running",
  "stopping",
  "stopped",
  "failed",
  "parked",
]);
export type ContainerStatus = z.infer<typeof ContainerStatus>;

/** One conversation's sandbox and queue pair. */
export const Session = z.strictObject({
  id: SessionId,
  agentGroupId: AgentGroupId,
  /** The chat the session was opened from (for `agent-shared`, the first one). */
  messagingGroupId: MessagingGroupId,
  /** The thread of a `per-thread` session; null otherwise. */
  threadId: z.string().nullable(),
  sessionMode: SessionMode,
  /**
   * Who has written to this session: the one sender seen so far, `*` once a
   * second one was, null before the first message. A `user` memory partition
   * keys on it (see `partition.ts`).
   */
  memoryUser: z.string().nullable(),
  containerStatus: ContainerStatus,
  lastActive: Timestamp,
  createdAt: Timestamp,
});
export type Session = z.infer<typeof Session>;

/** A thread id as channels give it; "" means none. */
export const ThreadId = z.string().max(512).nullable().optional();
