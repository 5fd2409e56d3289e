/**
 * The closed vocabularies both sides speak. Each is a zod enum, so it is both
 * the validator and the TypeScript union.
 *
 * @module
 */
import { z } from "zod";

/** What a queue message is. */
export const MessageKind = z.enum(["chat", "task", "webhook", "system"]);
export type MessageKind = z.infer<typeof MessageKind>;

/** When a wiring engages its agent. */
export const EngageMode = z.enum(["pattern", "mention", "mention-sticky"]);
export type EngageMode = z.infer<typeof EngageMode>;

/** Which senders a wiring accepts. */
export const SenderScope = z.enum(["all", "known"]);
export type SenderScope = z.infer<typeof SenderScope>;

/** What happens to a message that does not engage. */
export const IgnoredMessagePolicy = z.enum(["drop", "accumulate"]);
export type IgnoredMessagePolicy = z.infer<typeof IgnoredMessagePolicy>;

/** What happens to a message from a sender with no role or membership. */
export const UnknownSenderPolicy = z.enum(["strict", "request_approval", "public"]);
export type UnknownSenderPolicy = z.infer<typeof UnknownSenderPolicy>;

/** How conversations are partitioned into sessions. */
export const SessionMode = z.enum(["shared", "per-thread", "agent-shared"]);
export type SessionMode = z.infer<typeof SessionMode>;

/**
 * Whose `/memory` a session's agent sees: `group` one directory for every
 * conversation of the agent group, `user` one per person (a direct chat's
 * human; a chat where several people talk gets its session's own), `session`
 * one per session.
 */
export const MemoryPartition = z.enum(["group", "user", "session"]);
export type MemoryPartition = z.infer<typeof MemoryPartition>;

/** What a gateway change alters. */
export const ChangeKind = z.enum([
  "persona",
  "enabled_tools",
  "packages",
  "wiring",
  "permissions",
  "mounts",
  "create_agent",
  "mcp_access",
  "mcp_register",
  "vault_grant",
  "budget",
  "delete_agent",
]);
export type ChangeKind = z.infer<typeof ChangeKind>;

/** A verifier's (and the chain's) verdict. */
export const Verdict = z.enum(["pass", "reject", "require-human"]);
export type Verdict = z.infer<typeof Verdict>;

/** A human's (or the chain's) decision. */
export const DecisionOutcome = z.enum(["approve", "reject"]);
export type DecisionOutcome = z.infer<typeof DecisionOutcome>;

/** Where a change is in its life. `applied` is terminal. */
export const ChangeStatus = z.enum(["pending", "approved", "rejected", "applied"]);
export type ChangeStatus = z.infer<typeof ChangeStatus>;

/**
 * An audit line's stage: a change's step through the gateway, (`registry`) one write to the registry, or
 * (`budget`) an agent group spending the daily budget an approved `budget` change set.
 */
export const AuditStage = z.enum(["submit", "verdict", "decision", "apply", "registry", "budget"]);
export type AuditStage = z.infer<typeof AuditStage>;

/**
 * Message status vocabulary: `queued` and `scheduled` on inbound rows (host),
 * `processing` and `completed` in the sandbox's acks, `delivered` in the host's
 * delivery marks.
 */
export const QueueStatus = z.enum(["queued", "scheduled", "processing", "completed", "delivered"]);
export type QueueStatus = z.infer<typeof QueueStatus>;

/** Named recurrences; a positive duration such as `15m` or `2h` is also accepted. */
export const NamedRecurrence = z.enum(["hourly", "daily", "weekly"]);
export type NamedRecurrence = z.infer<typeof NamedRecurrence>;
