/**
 * The posting round for agents' questions, the same on every channel: each
 * unanswered question of one of the channel's conversations is posted once
 * (durably: its message is recorded before the next round looks), a failure
 * is logged and left for the next round, and concurrent calls share one
 * round so a question is never posted twice. The platform brings only how
 * a question is sent.
 *
 * @module
 */
import type { Question, QuestionDesk } from "../../questions/mod.ts";
import type { Registry } from "../../registry/mod.ts";
import { NotFoundError } from "../../state/mod.ts";
import type { ChannelStore } from "./store.ts";

/** How often a channel looks for new questions when polling. */
const QUESTION_POLL_MS = 2_000;

/** Where a question is to go: the conversation's chat and thread (null: none). */
export interface QuestionTarget {
  chatId: string;
  threadId: string | null;
}

/** What a {@link QuestionPoster} is built from. */
export interface QuestionPosterOptions {
  /** The channel type whose conversations' questions this posts (`telegram`, `slack`, …). */
  channel: string;
  registry: Pick<Registry, "getSession" | "getMessagingGroup">;
  /** Where posted questions are recorded (a {@link ChannelStore}). */
  store: Pick<ChannelStore, "question" | "recordQuestion">;
  /** Where questions are listed; without it none are posted. */
  desk?: Pick<QuestionDesk, "pending">;
  /** Sends `q` to `to` on the platform; returns where the message is (a reply there answers it). */
  send: (q: Question, to: QuestionTarget) => Promise<{ chatId: string; messageId: string }>;
  /** Logs a failure that is left for the next round. */
  warn: (message: string, err: unknown, extra: Record<string, unknown>) => void;
  /** Called once a question is posted (the agent waits: its typing stops). */
  onPosted?: (chatId: string, threadId: string | null) => void;
}

/**
 * Posts questions once each; `post()` is safe to call on every event.
 *
 * @example
 * ```ts ignore
 * const poster = new QuestionPoster({ channel: "telegram", registry, store, desk, send, warn });
 * await poster.post(); // how many were posted this round
 * ```
 */
export class QuestionPoster {
  #o: QuestionPosterOptions;
  #posting?: Promise<number>;
  #timer?: ReturnType<typeof setInterval>;

  constructor(options: QuestionPosterOptions) {
    this.#o = options;
  }

  /**
   * Posts every unanswered question of this channel's conversations not
   * posted yet; returns how many were posted. Concurrent calls share one round.
   */
  post(): Promise<number> {
    if (!this.#o.desk) return Promise.resolve(0);
    this.#posting ??= this.#round().finally(() => this.#posting = undefined);
    return this.#posting;
  }

  /**
   * Also posts every `everyMs` (default 2 s): an agent asks between chat
   * events too. A failed round is logged; the next one tries again. No-op
   * without a desk or when already polling.
   */
  poll(everyMs = QUESTION_POLL_MS): void {
    if (!this.#o.desk || this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      this.post().catch((err) => this.#o.warn("posting questions failed: {error}", err, {}));
    }, everyMs);
  }

  /** Stops {@link poll}'s timer; a round in progress goes on ({@link settled} waits for it). */
  stopPolling(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Resolves once a posting round in progress is over (a press may race its bookkeeping). */
  async settled(): Promise<void> {
    await this.#posting?.catch(() => {});
  }

  async #round(): Promise<number> {
    const { desk, store, send, warn, onPosted } = this.#o;
    let posted = 0;
    for (const q of desk!.pending()) {
      if (store.question(q.id)) continue;
      const to = this.#targetOf(q);
      if (!to) continue;
      try {
        const at = await send(q, to);
        store.recordQuestion(q.id, at.chatId, at.messageId);
        onPosted?.(to.chatId, to.threadId);
        posted++;
      } catch (err) {
        warn("question {questionId} could not be posted yet: {error}", err, { questionId: q.id });
      }
    }
    return posted;
  }

  /** The chat and thread of `q`'s conversation; undefined when it is gone or on another channel. */
  #targetOf(q: Question): QuestionTarget | undefined {
    const { registry, channel } = this.#o;
    try {
      const session = registry.getSession(q.sessionId);
      const chat = registry.getMessagingGroup(session.messagingGroupId);
      if (chat.channelType !== channel) return undefined;
      return { chatId: chat.platformId, threadId: session.threadId ?? null };
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }
}
