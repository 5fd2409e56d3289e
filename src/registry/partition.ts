/**
 * Session partitioning: which conversations share a session. The key is a
 * canonical JSON array, so no choice of ids can make two partitions collide.
 *
 * @module
 */
import type { SessionMode } from "../../contract/enums.ts";
import { canonicalJson } from "../../contract/json.ts";

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
