/**
 * Every update handled once: they are handled one at a time in arrival
 * order, an update below the durable cursor (kept in the state database) is
 * skipped as already handled, and the cursor moves past an update only once
 * its handling is written, so a restart neither loses nor repeats a
 * message. An update that keeps failing is retried a few times (by the next
 * poll, or Telegram's next webhook delivery), then skipped with an error in
 * the log, so one bad update never stalls a bot.
 *
 * @module
 */
import type { Update } from "grammy/types";
import type { logger } from "../../log/mod.ts";
import type { RouteResult } from "../../router/mod.ts";
import type { ChannelStore } from "../kit/mod.ts";

/** Attempts at one update before it is skipped. */
export const MAX_UPDATE_ATTEMPTS = 3;

/** What handling one update did. */
export interface HandledUpdate {
  updateId: number;
  kind: "routed" | "answered" | "refused" | "ignored" | "skipped";
  detail?: string;
  route?: RouteResult;
  questionId?: string;
  /** For a message its session refused (`refused`, at its backlog cap): that session. */
  sessionId?: string;
}

/** Feeds updates to a handler once each, in order. */
export class UpdateIntake {
  #store: ChannelStore;
  #handle: (update: Update) => Promise<HandledUpdate>;
  #describe: (err: unknown) => string;
  #log: ReturnType<typeof logger>;
  #failures = new Map<number, number>();
  #chain: Promise<unknown> = Promise.resolve();

  constructor(
    store: ChannelStore,
    options: {
      handle: (update: Update) => Promise<HandledUpdate>;
      describe: (err: unknown) => string;
      log: ReturnType<typeof logger>;
    },
  ) {
    this.#store = store;
    this.#handle = options.handle;
    this.#describe = options.describe;
    this.#log = options.log;
  }

  /** Handles `update`; throws while it may still succeed on a later try, skips it after too many failures. */
  async take(update: Update): Promise<HandledUpdate> {
    try {
      const handled = await this.#once(update);
      this.#failures.delete(update.update_id);
      return handled;
    } catch (err) {
      const attempts = (this.#failures.get(update.update_id) ?? 0) + 1;
      if (attempts < MAX_UPDATE_ATTEMPTS) {
        this.#failures.set(update.update_id, attempts);
        throw err;
      }
      this.#failures.delete(update.update_id);
      this.#store.advanceCursor(update.update_id + 1);
      const detail = this.#describe(err);
      this.#log.error("Telegram update {updateId} skipped after {attempts} failed attempts: {error}", {
        updateId: update.update_id,
        attempts,
        error: detail,
      });
      return { updateId: update.update_id, kind: "skipped", detail };
    }
  }

  /** Resolves once the update in progress (if any) is done. */
  async idle(): Promise<void> {
    await this.#chain.catch(() => {});
  }

  /** Handles `update` once: updates below the durable cursor are skipped; the cursor moves after success. */
  #once(update: Update): Promise<HandledUpdate> {
    const run = async (): Promise<HandledUpdate> => {
      if (update.update_id < this.#store.cursor()) {
        return { updateId: update.update_id, kind: "skipped", detail: "already handled" };
      }
      const handled = await this.#handle(update);
      this.#store.advanceCursor(update.update_id + 1);
      return handled;
    };
    const next = this.#chain.then(run, run);
    this.#chain = next.catch(() => {});
    return next;
  }
}
