/**
 * Session partitioning: which conversations share a session (the key is a
 * canonical JSON array, so no choice of ids can make two partitions collide);
 * and memory partitioning: which sessions share a `/memory`.
 *
 * @module
 */
import type { MemoryPartition, SessionMode } from "../../contract/enums.ts";
import type { SessionId, UserId } from "../../contract/ids.ts";
import { canonicalJson } from "../../contract/json.ts";
import type { MessagingGroup, Session } from "./schemas.ts";

/**
 * The partition key of a conversation under `mode`: `shared` is one session
 * per (agent, chat) whatever the thread; `per-thread` one per (agent, chat,
 * thread), no thread counting as ""; `agent-shared` one per agent across
 * every chat.
 */
export function partitionKey(
  mode: SessionMode,
  agentGroupId: string,
  messagingGroupId: string,
  threadId: string | null,
): string {
  switch (mode) {
    case "shared":
      return canonicalJson([mode, agentGroupId, messagingGroupId]);
    case "per-thread":
      return canonicalJson([mode, agentGroupId, messagingGroupId, threadId ?? ""]);
    case "agent-shared":
      return canonicalJson([mode, agentGroupId]);
  }
}

/** The memory partition of an agent group that chose none: per person once more than one person may use it. */
export function defaultMemoryPartition(memberCount: number): MemoryPartition {
  return memberCount > 1 ? "user" : "group";
}

/** A `memoryUser` that is no one person: a second sender wrote to the session. */
export const SEVERAL_SENDERS = "*";

/** Whose memory directory one session's agent gets. */
export type MemoryOwner =
  | { kind: "group" }
  | { kind: "user"; userId: UserId }
  | { kind: "session"; sessionId: SessionId };

/**
 * Whose memory session `session` sees under `partition`. `user` keys on the
 * person only where the session can only ever be one person's: a direct chat
 * (not a group chat, not an `agent-shared` session spanning chats) whose every
 * message so far came from the same sender. Anything else (a group chat, two
 * senders in a "direct" chat, no sender yet) falls back to the session, so
 * memory is never shared between different people.
 */
export function memoryOwner(
  partition: MemoryPartition,
  at: { session: Session; chat: Pick<MessagingGroup, "isGroup"> },
): MemoryOwner {
  const { session, chat } = at;
  if (partition === "group") return { kind: "group" };
  const person = session.memoryUser;
  if (
    partition === "user" && !chat.isGroup && session.sessionMode !== "agent-shared" &&
    person !== null && person !== SEVERAL_SENDERS
  ) {
    return { kind: "user", userId: person as UserId };
  }
  return { kind: "session", sessionId: session.id };
}
