/**
 * Payload conventions of capability changes (a change request's `after`), per
 * kind. The sandbox validates what it proposes with these; the host's
 * verifiers and appliers parse with the same schemas.
 *
 * @module
 */
import { z } from "zod";
import { AgentGroupId, UserId } from "./ids.ts";
import { LEAST_PRIVILEGE_TOOLS } from "./tools.ts";
import {
  EngageMode,
  IgnoredMessagePolicy,
  MemoryPartition,
  SenderScope,
  SessionMode,
  UnknownSenderPolicy,
} from "./enums.ts";

/** A package name: no shell metacharacters, spaces or control characters. */
export const PACKAGE_NAME = /^[A-Za-z0-9@][A-Za-z0-9._@/+-]*$/;
const PackageName = z.string().trim().max(214).regex(PACKAGE_NAME, {
  message: "package names may hold only letters, digits and . _ @ / + -",
});

/** `packages`: `{apt?, npm?}` or a flat list. */
export const PackagesPayload = z.union([
  z.array(PackageName),
  z.strictObject({ apt: z.array(PackageName).optional(), npm: z.array(PackageName).optional() }),
]);
export type PackagesPayload = z.infer<typeof PackagesPayload>;

/** A mount's name: the folder the agent sees it as, `/mounts/<name>`. */
export const MOUNT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const MountName = z.string().regex(MOUNT_NAME, {
  message: "a mount name is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
});

/**
 * One mount to bind: host directory `source` at `/mounts/<name>` (default
 * name: the source's last path segment), read-only unless `readonly` is
 * false. A mount of the same name is replaced.
 */
export const MountBind = z.strictObject({
  name: MountName.optional(),
  source: z.string().min(1).max(4096),
  readonly: z.boolean().optional(),
});
export type MountBind = z.infer<typeof MountBind>;

/** Takes the mount called `name` away. */
export const MountRemoval = z.strictObject({ name: MountName, remove: z.literal(true) });
export type MountRemoval = z.infer<typeof MountRemoval>;

/** `mounts`: host directories to bind into the agent's sandboxes (or to take away), each at `/mounts/<name>`. */
export const MountsPayload = z.array(z.union([MountBind, MountRemoval]));
export type MountsPayload = z.infer<typeof MountsPayload>;

/** The name a mount is seen under: its own, else its source's last path segment (which may not be a valid name). */
export function mountName(mount: MountBind): string {
  return mount.name ?? mount.source.split("/").filter(Boolean).at(-1) ?? "";
}

const ToolName = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, { message: "tool names are lower_snake_case" });

/** `enabled_tools`: a list (replace), `{tools}` (replace) or `{add}` (union). */
export const EnabledToolsPayload = z.union([
  z.array(ToolName),
  z.strictObject({ tools: z.array(ToolName) }),
  z.strictObject({ add: z.array(ToolName).min(1) }),
]);
export type EnabledToolsPayload = z.infer<typeof EnabledToolsPayload>;

/** Largest persona document, in bytes of UTF-8. */
export const MAX_PERSONA_SECTION_BYTES = 2048;
const PersonaSection = z.string().refine(
  (s) => new TextEncoder().encode(s).length <= MAX_PERSONA_SECTION_BYTES,
  {
    message: `a persona document may hold at most ${MAX_PERSONA_SECTION_BYTES} bytes`,
  },
);

/** The three persona documents: IDENTITY.md, SOUL.md and AGENTS.md. */
export const PersonaDocs = z.strictObject({
  identity: PersonaSection.optional(),
  soul: PersonaSection.optional(),
  instructions: PersonaSection.optional(),
});
export type PersonaDocs = z.infer<typeof PersonaDocs>;

/**
 * `persona`: any of the three documents; `persona` is accepted as another
 * name for `instructions`. A key set to "" clears that document.
 */
export const PersonaPayload = z.strictObject({
  identity: PersonaSection.optional(),
  soul: PersonaSection.optional(),
  instructions: PersonaSection.optional(),
  persona: PersonaSection.optional(),
}).refine((p) => Object.keys(p).length > 0, { message: "a persona change must name at least one document" });
export type PersonaPayload = z.infer<typeof PersonaPayload>;

const Hostname = z.string().trim().toLowerCase().regex(
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/,
  { message: "hosts are bare hostnames: no scheme, port, path or wildcard" },
);

/** `wiring`: routing settings for one of the agent's wirings, and/or egress hosts. */
export const WiringPayload = z.strictObject({
  wiringId: z.string().max(128).optional(),
  messagingGroupId: z.string().max(128).optional(),
  engage: EngageMode.optional(),
  pattern: z.string().max(1024).optional(),
  senderScope: SenderScope.optional(),
  ignoredMessagePolicy: IgnoredMessagePolicy.optional(),
  sessionMode: SessionMode.optional(),
  priority: z.number().int().optional(),
  unknownSenderPolicy: UnknownSenderPolicy.optional(),
  egress: z.array(Hostname).optional(),
});
export type WiringPayload = z.infer<typeof WiringPayload>;

/** A role a user can hold. */
export const RoleName = z.enum(["owner", "admin"]);
export type RoleName = z.infer<typeof RoleName>;

/**
 * `permissions`: membership and role grants on the target agent group, and
 * who shares its `/memory` (`memoryPartition`).
 */
export const PermissionsPayload = z.strictObject({
  addMembers: z.array(UserId).optional(),
  removeMembers: z.array(UserId).optional(),
  grantRoles: z.array(z.strictObject({ userId: UserId, role: RoleName })).optional(),
  revokeRoles: z.array(z.strictObject({ userId: UserId, role: RoleName })).optional(),
  addDestinations: z.array(
    z.strictObject({ channelType: z.string().min(1).max(64), platformId: z.string().min(1).max(256) }),
  )
    .optional(),
  memoryPartition: MemoryPartition.optional(),
});
export type PermissionsPayload = z.infer<typeof PermissionsPayload>;

/** Agent name: starts with a letter or digit; letters, digits, space, `.`, `_`, `-`. */
export const AGENT_NAME = /^[A-Za-z0-9][A-Za-z0-9 ._-]*$/;

/** `create_agent`: a new agent group and everything it names. */
export const CreateAgentPayload = z.strictObject({
  name: z.string().trim().min(1).max(64).regex(AGENT_NAME, {
    message: "agent names start with a letter or digit and hold letters, digits, spaces, '.', '_' or '-'",
  }),
  folder: z.string().max(64).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, {
    message: "folder holds letters, digits, '.', '_' or '-'",
  }).optional(),
  persona: PersonaDocs.optional(),
  /** The tool allowlist; absent or empty: the least-privilege set ({@link createdAgentTools}). */
  enabled_tools: z.array(ToolName).optional(),
  /** Every built-in tool, now and future: only ever this explicit choice, never a default. */
  all_tools: z.literal(true).optional(),
  members: z.array(UserId).optional(),
  wirings: z.array(z.strictObject({
    messagingGroupId: z.string().min(1).max(128),
    engage: EngageMode.default("mention"),
    pattern: z.string().max(1024).optional(),
    sessionMode: SessionMode.default("shared"),
  })).optional(),
  provider: z.string().max(64).optional(),
  model: z.string().max(128).optional(),
});
export type CreateAgentPayload = z.infer<typeof CreateAgentPayload>;

/**
 * The tool allowlist a `create_agent` payload gives its agent: null (every
 * tool) only for `all_tools`; its `enabled_tools`; none listed, the
 * least-privilege set. Throws when it asks for both.
 */
export function createdAgentTools(p: CreateAgentPayload): string[] | null {
  if (p.all_tools && p.enabled_tools?.length) {
    throw new Error("all_tools and enabled_tools exclude each other");
  }
  if (p.all_tools) return null;
  return p.enabled_tools?.length ? p.enabled_tools : [...LEAST_PRIVILEGE_TOOLS];
}

/** The agent group id `create_agent` derives: folder, else name, lower-cased, spaces as `-`. */
export function deriveAgentGroupId(p: { name: string; folder?: string }): AgentGroupId {
  return (p.folder ?? p.name).trim().toLowerCase().replace(/\s+/g, "-") as AgentGroupId;
}

/** `mcp_access`: grant tools of a catalogued MCP server (no tools = every declared tool). */
export const McpAccessPayload = z.strictObject({
  server: z.string().regex(/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/),
  tools: z.array(z.string().min(1).max(128)).optional(),
});
export type McpAccessPayload = z.infer<typeof McpAccessPayload>;

/** A vault secret's name: lower-case letters, digits, `.`, `_`, `-`; no `..`. */
export const VaultSecretName = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, {
  message: "secret names hold lower-case letters, digits, '.', '_' or '-' and start with a letter or digit",
}).refine((s) => !s.includes(".."), { message: "secret names hold no '..'" });

/** An environment variable's name, as a stdio MCP server gets it. */
const EnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, {
  message: "an environment variable's name holds letters, digits and '_' and does not start with a digit",
});

/**
 * `mcp_register`: add an MCP server to the host catalog (grants nothing by
 * itself). A stdio server runs in a sandbox of its own that holds its
 * program's directory and `paths` (read-only); its environment is `env` plus
 * `envSecrets` (variable → vault secret name, read from the host's vault at
 * each start, never stored here).
 */
export const McpRegisterPayload = z.strictObject({
  name: z.string().regex(/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/),
  displayName: z.string().max(128).optional(),
  description: z.string().max(1024).optional(),
  transport: z.enum(["stdio", "http"]),
  command: z.string().max(1024).optional(),
  args: z.array(z.string().max(1024)).optional(),
  url: z.string().url().optional(),
  env: z.record(EnvName, z.string()).optional(),
  envSecrets: z.record(EnvName, VaultSecretName).optional(),
  paths: z.array(z.string().max(1024).regex(/^\//, { message: "a path is absolute" })).max(32).optional(),
  headers: z.record(z.string(), z.string()).optional(),
}).refine((c) => (c.transport === "stdio") === (c.command !== undefined && c.url === undefined), {
  message: "stdio servers need a command and no url; http servers need a url and no command",
}).refine((c) => c.transport === "stdio" || (c.envSecrets === undefined && c.paths === undefined), {
  message: "environment secrets and paths are for stdio servers",
}).refine((c) => !Object.keys(c.envSecrets ?? {}).some((name) => name in (c.env ?? {})), {
  message: "a variable is given either a value (--env) or a secret (--env-secret), not both",
});
export type McpRegisterPayload = z.infer<typeof McpRegisterPayload>;

/** Where a vault grant applies: a bare host name or IPv4 address, with an optional port (exact match). */
export const GrantHost = z.string().trim().toLowerCase().regex(
  /^(?=.{1,253}(?::|$))[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*(?::\d{1,5})?$/,
  { message: "the host is a bare host name with an optional :port (no scheme, path or wildcard)" },
);

/**
 * `vault_grant`: the egress broker injects vault secret `name` into the
 * agent group's requests to `host` as header `header`, its value `format`
 * with `{}` replaced by the secret (overwriting whatever the agent sent).
 * The secret itself never enters the sandbox. Not requestable by an agent.
 */
export const VaultGrantPayload = z.strictObject({
  name: VaultSecretName,
  host: GrantHost,
  header: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, {
    message: "a header name holds letters, digits and '-'",
  }),
  format: z.string().max(256).refine((f) => f.split("{}").length === 2 && !/[\r\n\0]/.test(f), {
    message: "the format holds exactly one {} (where the secret goes) and no line breaks",
  }),
});
export type VaultGrantPayload = z.infer<typeof VaultGrantPayload>;

/**
 * `budget`: the agent group's daily caps, replacing its budget as a whole (a
 * cap left out is no cap): model tokens in and out together, and USD at the
 * host's price table. Over a cap the model proxy refuses the group's calls
 * until the usage day ends. Not requestable by an agent.
 */
export const BudgetPayload = z.strictObject({
  dailyTokens: z.number().int().positive().optional(),
  dailyUsd: z.number().positive().max(1_000_000).optional(),
});
export type BudgetPayload = z.infer<typeof BudgetPayload>;

/**
 * `delete_agent`: the target agent group goes, with its wirings, members,
 * sessions and their queues; its sandboxes are stopped first. Its
 * workspace and memory are kept aside on the host, never given to a later
 * agent of the same id. Not requestable by an agent.
 */
export const DeleteAgentPayload = z.strictObject({});
export type DeleteAgentPayload = z.infer<typeof DeleteAgentPayload>;

/** The payload schema of each change kind. */
export const CHANGE_PAYLOADS = {
  persona: PersonaPayload,
  enabled_tools: EnabledToolsPayload,
  packages: PackagesPayload,
  wiring: WiringPayload,
  permissions: PermissionsPayload,
  mounts: MountsPayload,
  create_agent: CreateAgentPayload,
  mcp_access: McpAccessPayload,
  mcp_register: McpRegisterPayload,
  vault_grant: VaultGrantPayload,
  budget: BudgetPayload,
  delete_agent: DeleteAgentPayload,
} as const;
