/**
 * The registry's sessions: one per conversation partition (shared, per
 * thread…), created on the first message, with where its sandbox is in its
 * life. This is runtime bookkeeping, not configuration: its writes are not
 * reported (see `core.ts`), and a busy conversation's last activity is
 * written at most once per {@link LAST_ACTIVE_STEP_MS}.
 *
 * @module
 */
import { newSessionId, SessionMode } from "../../contract/mod.ts";
import { NotFoundError, validate } from "../state/mod.ts";
import type { RegistryBase } from "./core.ts";
import { partitionKey, SEVERAL_SENDERS } from "./partition.ts";
import { decodeSession } from "./rows.ts";
import { ContainerStatus, type Session, ThreadId } from "./schemas.ts";

/**
 * How stale a session's `lastActive` may get: a message within this long of
 * the recorded activity does not write it again. It orders session lists and
 * shows as "active … ago"; nothing decides on it, and a crash loses nothing
 * (the stored value is at most this much older than the last message).
 */
export const LAST_ACTIVE_STEP_MS = 10_000;

/** Adds the session table to a registry base. */
export function sessionTables<B extends RegistryBase>(Base: B) {
  abstract class SessionTables extends Base {
    /**
     * The session of this conversation under `mode`, created (status `new`)
     * when absent; either way its `lastActive` is bumped to now, unless it
     * is less than {@link LAST_ACTIVE_STEP_MS} old: then the session is only
     * read, no transaction (a busy conversation writes it once per step, not
     * at every message).
     */
    resolveSession(
      agentGroupId: string,
      messagingGroupId: string,
      threadId: string | null | undefined,
      mode: SessionMode,
    ): Session {
      const { key, thread, sessionMode } = partition(agentGroupId, messagingGroupId, threadId, mode);
      const now = this.now();
      // A session row implies its agent and chat exist (deleting either cascades to it).
      const found = this.db.get("SELECT * FROM sessions WHERE partition_key = ?", [key]);
      if (found && Date.parse(now) - Date.parse(String(found.last_active)) < LAST_ACTIVE_STEP_MS) {
        return decodeSession(found);
      }
      return this.bookkeep(() => {
        this.requireAgentGroup(agentGroupId);
        this.requireMessagingGroup(messagingGroupId);
        this.db.run(
          `INSERT INTO sessions (id, agent_group_id, messaging_group_id, thread_id, session_mode, partition_key,
             container_status, last_active, created_at)
           VALUES (?, ?, ?, ?, ?, ?, 'new', ?, ?)
           ON CONFLICT (partition_key) DO UPDATE SET last_active = max(last_active, excluded.last_active)`,
          [
            newSessionId(),
            agentGroupId,
            messagingGroupId,
            sessionMode === "per-thread" ? thread : null,
            sessionMode,
            key,
            now,
            now,
          ],
        );
        return decodeSession(this.db.get("SELECT * FROM sessions WHERE partition_key = ?", [key])!);
      });
    }

    /** The session `resolveSession` would return, without creating or touching one. */
    findSession(
      agentGroupId: string,
      messagingGroupId: string,
      threadId: string | null | undefined,
      mode: SessionMode,
    ): Session | undefined {
      const { key } = partition(agentGroupId, messagingGroupId, threadId, mode);
      const row = this.db.get("SELECT * FROM sessions WHERE partition_key = ?", [key]);
      return row && decodeSession(row);
    }

    /** The session `id`. */
    getSession(id: string): Session {
      const row = this.db.get("SELECT * FROM sessions WHERE id = ?", [id]);
      if (!row) throw new NotFoundError("session", id);
      return decodeSession(row);
    }

    /** Every session (or one agent's), most recently active first, ties by id. */
    listSessions(agentGroupId?: string): Session[] {
      const order = "ORDER BY last_active DESC, id";
      if (agentGroupId === undefined) {
        return this.db.all(`SELECT * FROM sessions ${order}`).map(decodeSession);
      }
      this.requireAgentGroup(agentGroupId);
      return this.db.all(`SELECT * FROM sessions WHERE agent_group_id = ? ${order}`, [agentGroupId]).map(
        decodeSession,
      );
    }

    /**
     * Records that `sender` wrote to session `id` (its `memoryUser`: the one
     * sender so far, or {@link SEVERAL_SENDERS}). True when this made a
     * one-person session a several-people one: a sandbox already running
     * with that person's memory must stop before the message reaches it.
     */
    noteSender(id: string, sender: string): boolean {
      const known = this.getSession(id).memoryUser;
      // The usual case, the same person again: a read, no transaction.
      if (known === sender || known === SEVERAL_SENDERS) return false;
      return this.bookkeep(() => {
        const before = this.getSession(id).memoryUser;
        if (before === sender || before === SEVERAL_SENDERS) return false;
        this.db.run("UPDATE sessions SET memory_user = ? WHERE id = ?", [
          before === null ? sender : SEVERAL_SENDERS,
          id,
        ]);
        return before !== null;
      });
    }

    /** Records where the session's sandbox is in its life. */
    setContainerStatus(id: string, status: ContainerStatus): Session {
      const s = validate(ContainerStatus, status, "container status");
      return this.bookkeep(() => {
        if (this.db.run("UPDATE sessions SET container_status = ? WHERE id = ?", [s, id]) === 0) {
          throw new NotFoundError("session", id);
        }
        return this.getSession(id);
      });
    }
  }
  return SessionTables;
}

/** The partition key of a conversation, its inputs checked. */
function partition(
  agentGroupId: string,
  messagingGroupId: string,
  threadId: string | null | undefined,
  mode: SessionMode,
) {
  const sessionMode = validate(SessionMode, mode, "session mode");
  const thread = validate(ThreadId, threadId, "thread id") || null;
  return { key: partitionKey(sessionMode, agentGroupId, messagingGroupId, thread), thread, sessionMode };
}
