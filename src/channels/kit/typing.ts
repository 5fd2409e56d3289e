/**
 * The typing indicator while an agent works: the platform's "typing" action
 * when a message engages it, repeated (Telegram shows it for about five
 * seconds, Discord ten) until the reply goes out or a ceiling passes.
 *
 * @module
 */

/** How often the action is repeated. */
export const TYPING_EVERY_MS = 4_500;
/** When it is given up without a reply. */
export const TYPING_MAX_MS = 120_000;

/** What the indicator is built from. */
export interface TypingOptions {
  /** Sends one `typing` action; failures are reported to `onError` and do not stop the indicator. */
  send: (chatId: string, threadId: string | null) => Promise<void>;
  everyMs?: number;
  maxMs?: number;
  onError?: (err: unknown) => void;
  now?: () => number;
}

interface Active {
  timer: ReturnType<typeof setInterval>;
  until: number;
}

/** Typing indicators per chat and thread. */
export class TypingIndicator {
  #o: TypingOptions;
  #active = new Map<string, Active>();

  constructor(options: TypingOptions) {
    this.#o = options;
  }

  /** Shows typing in the chat (now, and repeatedly); a second start extends the first. */
  start(chatId: string, threadId: string | null): Promise<void> {
    const key = keyOf(chatId, threadId);
    const now = this.#o.now?.() ?? Date.now();
    const until = now + (this.#o.maxMs ?? TYPING_MAX_MS);
    const existing = this.#active.get(key);
    if (existing) {
      existing.until = until;
      return Promise.resolve();
    }
    const active = { until } as Active;
    active.timer = setInterval(() => {
      if ((this.#o.now?.() ?? Date.now()) >= active.until) return this.#clear(key);
      void this.#send(chatId, threadId);
    }, this.#o.everyMs ?? TYPING_EVERY_MS);
    this.#active.set(key, active);
    return this.#send(chatId, threadId);
  }

  /** Stops typing in the chat's thread (and in the chat as a whole when `threadId` names a thread). */
  stop(chatId: string, threadId: string | null): void {
    this.#clear(keyOf(chatId, threadId));
    if (threadId !== null) this.#clear(keyOf(chatId, null));
  }

  /** Stops every indicator. */
  stopAll(): void {
    for (const key of [...this.#active.keys()]) this.#clear(key);
  }

  /** Chats (`<chat>` or `<chat>/<thread>`) showing typing now. */
  active(): string[] {
    return [...this.#active.keys()].sort();
  }

  #clear(key: string): void {
    const a = this.#active.get(key);
    if (!a) return;
    clearInterval(a.timer);
    this.#active.delete(key);
  }

  async #send(chatId: string, threadId: string | null): Promise<void> {
    try {
      await this.#o.send(chatId, threadId);
    } catch (err) {
      this.#o.onError?.(err);
    }
  }
}

function keyOf(chatId: string, threadId: string | null): string {
  return threadId === null ? chatId : `${chatId}/${threadId}`;
}
