/**
 * Telling a conversation that its session refuses messages (at its
 * unanswered-backlog cap): once per shedding episode and conversation, an
 * episode lasting until a message of that session is accepted again. The
 * telling runs off the update path (a slow or rate-limited send holds up no
 * other chat), and one not delivered is tried again with the
 * conversation's next refused message. Nothing here is Telegram's: a
 * channel gives the send.
 *
 * @module
 */

/** What a chat is told, once per shedding episode, when its session refuses a message (a full backlog). */
export const BACKLOG_NOTICE =
  "I'm still working through earlier messages; please send this again in a moment.";

/**
 * Shedding sessions remembered at most. Each entry exists only while its
 * session refuses messages; the bound keeps sessions whose chat never
 * writes again from accumulating. Forgetting one costs one extra notice.
 */
const MAX_SHEDDING_SESSIONS = 10_000;

/** Backlog notices per session and conversation. Memory only: after a restart a chat may be told once more. */
export class BacklogNotices {
  /** Sessions refusing messages, each with the conversations told so in this episode. */
  #shedding = new Map<string, Set<string>>();
  /** Notices on their way. */
  #sending = new Set<Promise<void>>();

  /**
   * Session `sessionId` refused a message of `conversation`: calls `tell`
   * (off the caller's path) unless the conversation was told in this
   * episode; `tell` resolves false when the notice did not go out. Returns
   * whether it is being told.
   */
  refused(sessionId: string, conversation: string, tell: () => Promise<boolean>): boolean {
    let told = this.#shedding.get(sessionId);
    if (!told) {
      if (this.#shedding.size >= MAX_SHEDDING_SESSIONS) {
        this.#shedding.delete(this.#shedding.keys().next().value!);
      }
      told = new Set();
      this.#shedding.set(sessionId, told);
    }
    if (told.has(conversation)) return false;
    told.add(conversation);
    const sending = tell().then((sent) => {
      // Not delivered: the conversation's next refused message tries again.
      if (!sent) told.delete(conversation);
    });
    this.#sending.add(sending);
    void sending.finally(() => this.#sending.delete(sending));
    return true;
  }

  /** Session `sessionId` took a message: its episode is over, the next refusal is told anew. */
  accepted(sessionId: string): void {
    this.#shedding.delete(sessionId);
  }

  /** Resolves once every notice on its way is sent or given up. */
  async settled(): Promise<void> {
    await Promise.all(this.#sending);
  }
}
