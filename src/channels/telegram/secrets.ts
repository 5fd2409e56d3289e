/**
 * Keeping the bot token out of errors and logs. The token is part of every
 * Bot API URL (`/bot<token>/…`, `/file/bot<token>/…`), and Deno's fetch puts
 * the URL into its error messages, so every error that leaves the channel is
 * scrubbed first.
 *
 * @module
 */
import { REDACTED } from "../../log/mod.ts";
import { GrammyError, HttpError } from "./grammy.ts";

/** Anything shaped like a bot token inside a Bot API path. */
const TOKEN_IN_PATH = /\/bot\d+:[A-Za-z0-9_-]+/g;

/** `text` with `token` (raw or URL-encoded) and any token-shaped URL path segment replaced. */
export function scrubToken(text: string, token: string): string {
  let out = text;
  if (token !== "") {
    for (const form of new Set([token, encodeURIComponent(token)])) out = out.split(form).join(REDACTED);
  }
  return out.replace(TOKEN_IN_PATH, `/bot${REDACTED}`);
}

/** A Bot API failure, its message free of the token. */
export class TelegramApiError extends Error {
  override name = "TelegramApiError";
  constructor(
    message: string,
    /** The Bot API method. */
    readonly method: string,
    /** Telegram's error code (HTTP status), when it answered. */
    readonly code?: number,
    /** Seconds Telegram asked us to wait (429). */
    readonly retryAfter?: number,
  ) {
    super(message);
  }

  /** True for an answer that will not change on retry (a bad request, or a chat that refuses the bot). */
  get permanent(): boolean {
    return this.code === 400 || this.code === 403;
  }
}

/** One line describing `err`, with the token scrubbed. */
export function describeTelegramError(err: unknown, token: string): string {
  let text: string;
  if (err instanceof GrammyError) text = `${err.method}: ${err.error_code} ${err.description}`;
  else if (err instanceof HttpError) text = `${err.message} (${causes(err.error)})`;
  else if (err instanceof Error) text = causes(err);
  else text = String(err);
  return scrubToken(text.split("\n")[0], token);
}

/** An error's message and its causes' (Deno's fetch keeps the useful part, with the URL, in `cause`). */
function causes(err: unknown, depth = 0): string {
  if (!(err instanceof Error)) return String(err);
  const cause = depth < 3 && err.cause !== undefined ? `: ${causes(err.cause, depth + 1)}` : "";
  return `${err.message}${cause}`;
}

/** `err` as a {@link TelegramApiError} (scrubbed), for `method`. */
export function toTelegramError(err: unknown, method: string, token: string): TelegramApiError {
  if (err instanceof TelegramApiError) return err;
  const message = describeTelegramError(err, token);
  if (err instanceof GrammyError) {
    return new TelegramApiError(message, method, err.error_code, err.parameters?.retry_after);
  }
  return new TelegramApiError(message, method);
}
