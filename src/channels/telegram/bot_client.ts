/**
 * The channel's one door to the Bot API: the grammY bot, its identity, and
 * every call made through {@link TelegramClient.call}, so any failure comes
 * out as a `TelegramApiError` with the token scrubbed, and every
 * warning is logged scrubbed too. The token never leaves this object but
 * for the file download URL, which is fetched here as well.
 *
 * @module
 */
import type { logger } from "../../log/mod.ts";
import { checkApiRoot, createBot, fileUrl, TELEGRAM_API_ROOT } from "./api.ts";
import { apiSignal, type Bot } from "./grammy.ts";
import type { BotIdentity } from "./inbound.ts";
import type { RetryOptions } from "./retry.ts";
import { describeTelegramError, toTelegramError } from "./secrets.ts";

type Logger = ReturnType<typeof logger>;

/** A bot, its token held and scrubbed. */
export class TelegramClient {
  readonly bot: Bot;
  readonly apiRoot: string;
  #token: string;
  #log: Logger;

  constructor(token: string, options: { apiRoot?: string; retry?: RetryOptions; log: Logger }) {
    this.#token = token;
    this.#log = options.log;
    this.apiRoot = checkApiRoot(options.apiRoot ?? TELEGRAM_API_ROOT);
    this.bot = createBot({ token, apiRoot: this.apiRoot, retry: options.retry });
  }

  /** Who the bot is; available once {@link ensureInit} has run. */
  get identity(): BotIdentity | undefined {
    return this.bot.isInited() ? { id: this.bot.botInfo.id, username: this.bot.botInfo.username } : undefined;
  }

  /** Learns who the bot is (`getMe`), once. */
  async ensureInit(signal?: AbortSignal): Promise<void> {
    if (this.bot.isInited()) return;
    // Not `bot.init()`: it retries forever on network errors; our callers have their own backoff.
    this.bot.botInfo = await this.call("getMe", () => this.bot.api.getMe(apiSignal(signal)));
  }

  /** Runs one API call; any failure comes out as a scrubbed `TelegramApiError`. */
  async call<T>(method: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toTelegramError(err, method, this.#token);
    }
  }

  /** Fetches a file the Bot API names by `filePath` (`getFile`'s answer). */
  fetchFile(filePath: string, signal: AbortSignal): Promise<Response> {
    return fetch(fileUrl(this.apiRoot, this.#token, filePath), { signal });
  }

  /** `err` in one line, the token scrubbed. */
  describe(err: unknown): string {
    return describeTelegramError(err, this.#token);
  }

  /** Logs a warning with `err` described (scrubbed) as `{error}`. */
  warn(message: string, err: unknown, extra: Record<string, unknown> = {}): void {
    this.#log.warn(message, { ...extra, error: this.describe(err) });
  }
}
