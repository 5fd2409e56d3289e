/**
 * Decoding of registry rows into records. The state database is ours and
 * encrypted, so rows are trusted: columns are cast, JSON columns parsed.
 *
 * @module
 */
import type {
  AgentGroupId,
  MemoryPartition,
  MessagingGroupId,
  SessionId,
  SessionMode,
  UnknownSenderPolicy,
  UserId,
  WiringId,
} from "../../contract/mod.ts";
import type { Row } from "../../contract/sqlite/mod.ts";
import { defaultMemoryPartition } from "./partition.ts";
import type {
  AgentGroup,
  ContainerStatus,
  Destination,
  McpGrant,
  MessagingGroup,
  Mount,
  Packages,
  Session,
  User,
  UserKind,
  Wiring,
} from "./schemas.ts";

const text = (v: unknown): string => v as string;
const nullableText = (v: unknown): string | null => v as string | null;

/**
 * A group's mounts. Before 2026-12-07 a mount had an optional `target` and no
 * name (and was never bound): such a row is read with the name its target's,
 * else its source's, last segment.
 */
function decodeMounts(json: string): Mount[] {
  const rows = JSON.parse(json) as (Mount & { target?: string | null })[];
  return rows.map((m) => ({
    name: m.name ?? (m.target ?? m.source).split("/").filter(Boolean).at(-1) ?? "mount",
    source: m.source,
    readonly: m.readonly,
  }));
}

/** An `agent_groups` row with its `member_count` (see `AGENT_GROUP_SELECT` in `agent_groups.ts`). */
export function decodeAgentGroup(r: Row): AgentGroup {
  const chosen = r.memory_partition as MemoryPartition | null;
  return {
    id: r.id as AgentGroupId,
    name: text(r.name),
    folder: text(r.folder),
    provider: nullableText(r.provider),
    model: nullableText(r.model),
    personaDocs: {
      identity: text(r.persona_identity),
      soul: text(r.persona_soul),
      instructions: text(r.persona_instructions),
    },
    enabledTools: r.enabled_tools === null ? null : JSON.parse(text(r.enabled_tools)) as string[],
    packages: JSON.parse(text(r.packages)) as Packages,
    mounts: decodeMounts(text(r.mounts)),
    mcpGrants: JSON.parse(text(r.mcp_grants)) as McpGrant[],
    memoryPartition: chosen ?? defaultMemoryPartition(r.member_count as number),
    memoryPartitionChosen: chosen !== null,
    createdAt: text(r.created_at),
    updatedAt: text(r.updated_at),
  };
}

/** A `messaging_groups` row. */
export function decodeMessagingGroup(r: Row): MessagingGroup {
  return {
    id: r.id as MessagingGroupId,
    channelType: text(r.channel_type),
    platformId: text(r.platform_id),
    instance: text(r.instance),
    isGroup: r.is_group === 1,
    unknownSenderPolicy: r.unknown_sender_policy as UnknownSenderPolicy,
  };
}

/** A `wirings` row. */
export function decodeWiring(r: Row): Wiring {
  return {
    id: r.id as WiringId,
    messagingGroupId: r.messaging_group_id as MessagingGroupId,
    agentGroupId: r.agent_group_id as AgentGroupId,
    engageMode: r.engage_mode as Wiring["engageMode"],
    engagePattern: text(r.engage_pattern),
    senderScope: r.sender_scope as Wiring["senderScope"],
    ignoredMessagePolicy: r.ignored_message_policy as Wiring["ignoredMessagePolicy"],
    sessionMode: r.session_mode as SessionMode,
    priority: r.priority as number,
  };
}

/** A `users` row. */
export function decodeUser(r: Row): User {
  return { id: r.id as UserId, kind: r.kind as UserKind, displayName: nullableText(r.display_name) };
}

/** A `destinations` row. */
export function decodeDestination(r: Row): Destination {
  return {
    agentGroupId: r.agent_group_id as AgentGroupId,
    channelType: text(r.channel_type),
    platformId: text(r.platform_id),
    displayName: nullableText(r.display_name),
  };
}

/** A `sessions` row. */
export function decodeSession(r: Row): Session {
  return {
    id: r.id as SessionId,
    agentGroupId: r.agent_group_id as AgentGroupId,
    messagingGroupId: r.messaging_group_id as MessagingGroupId,
    threadId: nullableText(r.thread_id),
    sessionMode: r.session_mode as SessionMode,
    memoryUser: nullableText(r.memory_user),
    containerStatus: r.container_status as ContainerStatus,
    lastActive: text(r.last_active),
    createdAt: text(r.created_at),
  };
}
