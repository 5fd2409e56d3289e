/**
 * The web chat's outbox with waiting: the delivery adapter for the `web`
 * channel, which hands each reply to {@link WebChat} and wakes whoever is
 * waiting on that conversation, so a client can long-poll for replies
 * instead of asking in a loop. The replies themselves are durable (the web
 * chat's outbox in the state database); only the waits live in memory.
 *
 * @module
 */
import type { ChannelAdapter, ChannelMessage } from "../delivery/adapter.ts";
import type { WebChat, WebChatItem } from "../channels/web_chat.ts";

/** The longest a drain may wait for a reply. */
export const MAX_DRAIN_WAIT_MS = 30_000;

/** The web chat adapter, plus waiting drains. */
export class ChatInbox implements ChannelAdapter {
  readonly name: string;
  #waiters = new Map<string, Set<() => void>>();
  #closed = false;

  constructor(readonly chat: WebChat) {
    this.name = chat.name;
  }

  async deliver(message: ChannelMessage): Promise<string | null> {
    const id = await this.chat.deliver(message);
    this.#wake(message.platformId);
    return id;
  }

  /**
   * The conversation's waiting replies, each returned once. With none
   * waiting, waits up to `waitMs` (capped at {@link MAX_DRAIN_WAIT_MS}) for
   * the next one; an empty list means none came in time.
   */
  async drain(conversationId: string, waitMs = 0): Promise<WebChatItem[]> {
    const ready = this.chat.drain(conversationId);
    const wait = Math.min(Math.max(0, waitMs), MAX_DRAIN_WAIT_MS);
    if (ready.length > 0 || wait === 0 || this.#closed) return ready;
    await new Promise<void>((resolve) => {
      const waiters = this.#waiters.get(conversationId) ?? new Set();
      this.#waiters.set(conversationId, waiters);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(done);
        if (waiters.size === 0 && this.#waiters.get(conversationId) === waiters) {
          this.#waiters.delete(conversationId);
        }
        resolve();
      };
      const timer = setTimeout(done, wait);
      waiters.add(done);
    });
    return this.chat.drain(conversationId);
  }

  /** Ends every wait (they return what is there); later drains do not wait. */
  close(): void {
    this.#closed = true;
    for (const conversationId of [...this.#waiters.keys()]) this.#wake(conversationId);
  }

  #wake(conversationId: string): void {
    for (const done of [...this.#waiters.get(conversationId) ?? []]) done();
  }
}
