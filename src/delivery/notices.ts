/**
 * Host notices: one short line from the control plane itself (not the agent)
 * to a session's chat, through the same channel adapters delivery uses, for
 * trouble the person chatting would otherwise only see as silence: a model
 * call the operator must fix, a sandbox that cannot start or was parked.
 * Rate-limited per session and topic, so a failing provider does not flood
 * the chat; a notice that cannot be sent is logged and dropped (the cause is
 * in the log and `status` all the same).
 *
 * @module
 */
import type { SessionId } from "../../contract/ids.ts";
import { nowTimestamp, type Timestamp } from "../../contract/time.ts";
import { logger } from "../log/mod.ts";
import type { Registry } from "../registry/mod.ts";
import type { ChannelAdapters } from "./adapter.ts";

/** What a notice is about: at most one per session and topic per interval. */
export type NoticeTopic = "model" | "sandbox" | "parked";

/** A notice sent to a session's chat. */
export interface SentNotice {
  topic: NoticeTopic;
  text: string;
  time: Timestamp;
}

/** What notices are built from. */
export interface SessionNoticesDeps {
  registry: Registry;
  adapters: ChannelAdapters;
  /** Shortest time between two notices of one topic to one session (default ten minutes). */
  intervalMs?: number;
  /** Epoch-millisecond clock (tests pin it). */
  now?: () => number;
}

/** Ten minutes between notices of one topic to one session. */
export const NOTICE_INTERVAL_MS = 10 * 60_000;

/** Sends host notices to sessions' chats, rate-limited. */
export class SessionNotices {
  #d: SessionNoticesDeps;
  #log = logger("notices");
  /** The last notice sent per session and topic (`<session> <topic>`), with its epoch ms. */
  #sent = new Map<string, { at: number; notice: SentNotice }>();

  constructor(deps: SessionNoticesDeps) {
    this.#d = deps;
  }

  /**
   * Sends `text` to the session's chat unless a notice of `topic` went there
   * within the interval; resolves whether it was sent. Never throws.
   */
  async notify(sessionId: SessionId, notice: { topic: NoticeTopic; text: string }): Promise<boolean> {
    const now = (this.#d.now ?? Date.now)();
    const interval = this.#d.intervalMs ?? NOTICE_INTERVAL_MS;
    for (const [key, sent] of this.#sent) if (now - sent.at >= interval) this.#sent.delete(key);
    const key = `${sessionId} ${notice.topic}`;
    if (this.#sent.has(key)) return false;
    const sent: SentNotice = { ...notice, time: nowTimestamp() };
    this.#sent.set(key, { at: now, notice: sent });
    try {
      const { registry, adapters } = this.#d;
      const session = registry.getSession(sessionId);
      const chat = registry.getMessagingGroup(session.messagingGroupId);
      const adapter = adapters.get(chat.channelType);
      if (!adapter) throw new Error(`no channel adapter for ${chat.channelType}`);
      await adapter.deliver({
        id: `notice-${crypto.randomUUID()}`,
        sessionId,
        agentGroupId: session.agentGroupId,
        kind: "system",
        channelType: chat.channelType,
        platformId: chat.platformId,
        threadId: session.threadId,
        inReplyTo: null,
        content: notice.text,
        timestamp: sent.time,
      });
      return true;
    } catch (err) {
      this.#log.warn("could not send a notice to session {sessionId}: {error}", {
        sessionId,
        error: String(err),
      });
      return false;
    }
  }

  /** The last notices sent to `sessionId` (within the interval), newest first. */
  recent(sessionId: SessionId): SentNotice[] {
    return [...this.#sent]
      .filter(([key]) => key.startsWith(`${sessionId} `))
      .map(([, s]) => s.notice)
      .sort((a, b) => b.time.localeCompare(a.time));
  }
}

/** The notice for a model call the operator must fix; `cause` from the model proxy. */
export function modelFailureNotice(cause: string): { topic: NoticeTopic; text: string } {
  const sentence = /[.?!]$/.test(cause) ? cause : `${cause}.`;
  return {
    topic: "model",
    text: `model call failed: ${sentence} Your message is kept and will be answered once the model works.`,
  };
}

/** The notice for a sandbox that could not start. */
export function sandboxStartNotice(): { topic: NoticeTopic; text: string } {
  return {
    topic: "sandbox",
    text: "Your message is queued, but the agent's sandbox could not start; " +
      "the operator should check `ironclaw doctor` and the control plane's log.",
  };
}

/** The notice for a session parked after repeated sandbox failures. */
export function parkedNotice(sessionId: SessionId): { topic: NoticeTopic; text: string } {
  return {
    topic: "parked",
    text: "Your message is queued, but the agent's sandbox kept failing and is parked; " +
      `the operator should check the control plane's log, then run \`ironclaw session unpark ${sessionId}\`.`,
  };
}
