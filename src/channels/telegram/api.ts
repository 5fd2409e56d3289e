/**
 * The Bot API client: grammY over Deno's own `fetch` (no Node agents left
 * open), rooted at the configured API server, with the `retry_after`
 * transformer installed.
 *
 * @module
 */
import { checkApiRoot, TELEGRAM_API_ROOT } from "./api_root.ts";
import { Bot } from "./grammy.ts";
import { retryAfter, type RetryOptions } from "./retry.ts";

export { API_ROOT_ENV, checkApiRoot, isBotToken, TELEGRAM_API_ROOT } from "./api_root.ts";

/** Seconds an API call may take (a long poll adds its own timeout on top). */
export const API_TIMEOUT_SECONDS = 60;

/** What a client needs. */
export interface TelegramClientOptions {
  token: string;
  /** Default {@link TELEGRAM_API_ROOT}. */
  apiRoot?: string;
  retry?: RetryOptions;
  timeoutSeconds?: number;
}

/**
 * Deno's `fetch` as grammY's Node build calls it: its abort signal comes
 * from the `abort-controller` polyfill (which Deno's fetch refuses) and its
 * multipart bodies are Node streams; both are bridged to web types here.
 */
export const bridgedFetch: typeof fetch = (input, init) => {
  if (!init) return fetch(input);
  const bridged: RequestInit = { ...init };
  const signal = init.signal as
    | { aborted?: boolean; addEventListener?: AbortSignal["addEventListener"] }
    | null;
  if (signal && !(signal instanceof AbortSignal)) {
    const controller = new AbortController();
    if (signal.aborted) controller.abort();
    else signal.addEventListener?.("abort", () => controller.abort(), { once: true });
    bridged.signal = controller.signal;
  }
  const body = init.body as unknown;
  if (body && typeof body === "object" && !(body instanceof ReadableStream) && Symbol.asyncIterator in body) {
    bridged.body = ReadableStream.from(body as AsyncIterable<Uint8Array>);
  }
  return fetch(input, bridged);
};

/** A grammY bot for `options` (not yet initialised: `bot.init()` calls `getMe`). */
export function createBot(options: TelegramClientOptions): Bot {
  const bot = new Bot(options.token, {
    client: {
      apiRoot: checkApiRoot(options.apiRoot ?? TELEGRAM_API_ROOT),
      fetch: bridgedFetch,
      baseFetchConfig: {},
      timeoutSeconds: options.timeoutSeconds ?? API_TIMEOUT_SECONDS,
      sensitiveLogs: false,
    },
  });
  bot.api.config.use(retryAfter(options.retry));
  return bot;
}

/** Where the file at `filePath` (from `getFile`) is downloaded from. */
export function fileUrl(apiRoot: string, token: string, filePath: string): string {
  const path = filePath.split("/").map(encodeURIComponent).join("/");
  return `${checkApiRoot(apiRoot)}/file/bot${token}/${path}`;
}
