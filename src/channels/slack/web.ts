/**
 * The Slack Web API through the official client (`@slack/web-api`), with
 * the bot token held here only:
 * - `Retry-After` honoured: a call answered 429 is repeated after the
 *   seconds Slack asks for, a few times at most; a longer wait, or one
 *   attempt too many, hands the error to the caller (delivery retries the
 *   row on a later pass). The library's own long retry policy is off.
 * - Errors and the library's log lines are scrubbed of the tokens.
 * - Files are fetched (`url_private`) with the bot token only from Slack's
 *   own hosts (or the configured API server's), never from a URL an event
 *   could point anywhere.
 *
 * @module
 */
import { ErrorCode, type Logger as SlackLogger, LogLevel, WebClient } from "@slack/web-api";
import type { Logger } from "@logtape/logtape";
import { REDACTED } from "../../log/mod.ts";
import { abortableSleep } from "../kit/mod.ts";

/** How 429 answers are retried. */
export interface SlackRetryOptions {
  /** Retries of one call (default 3). */
  maxRetries?: number;
  /** Longest `Retry-After` waited for, in seconds (default 60); a longer one is returned as the error. */
  maxDelaySeconds?: number;
  /** Waits `ms`; injectable so tests see every wait. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Platform errors that a retry will not change: the reply is dropped, not retried. */
const PERMANENT = new Set([
  "channel_not_found",
  "not_in_channel",
  "is_archived",
  "msg_too_long",
  "no_text",
  "invalid_blocks",
  "restricted_action",
  "cannot_reply_to_message",
  "invalid_auth",
  "account_inactive",
  "token_revoked",
  "not_authed",
  "missing_scope",
]);

/** A Slack API failure, its message free of the tokens. */
export class SlackApiError extends Error {
  override name = "SlackApiError";
  constructor(
    message: string,
    readonly method: string,
    /** Slack's error code (`channel_not_found`), when it answered. */
    readonly code?: string,
    /** Seconds Slack asked us to wait (429). */
    readonly retryAfter?: number,
  ) {
    super(message);
  }

  /** True for an answer that will not change on retry. */
  get permanent(): boolean {
    return this.code !== undefined && PERMANENT.has(this.code);
  }
}

/** `text` with every secret in `secrets` and anything token-shaped replaced. */
export function scrubSlack(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s !== "") out = out.split(s).join(REDACTED);
  return out.replace(/\bxox[a-z]-[A-Za-z0-9-]+/g, REDACTED).replace(/\bxapp-[A-Za-z0-9-]+/g, REDACTED);
}

/** The Web API client of one bot. */
export class SlackWeb {
  readonly client: WebClient;
  readonly apiRoot: string;
  #token: string;
  #secrets: string[];
  #retry: SlackRetryOptions;
  #log: Logger;

  constructor(
    token: string,
    options: { apiRoot: string; secrets?: string[]; retry?: SlackRetryOptions; log: Logger },
  ) {
    this.#token = token;
    this.#secrets = [token, ...(options.secrets ?? [])];
    this.#retry = options.retry ?? {};
    this.#log = options.log;
    this.apiRoot = options.apiRoot;
    this.client = new WebClient(token, {
      slackApiUrl: `${options.apiRoot}/`,
      rejectRateLimitedCalls: true,
      retryConfig: { retries: 0 },
      logger: this.libraryLogger(),
      // Calls go only under the API root, never to an absolute URL a caller passes as a method.
      allowAbsoluteUrls: false,
    });
  }

  /** The library's log lines, scrubbed, into ours (its debug output stays off). */
  libraryLogger(): SlackLogger {
    const line = (args: unknown[]) => scrubSlack(args.map(String).join(" "), this.#secrets);
    return {
      debug: () => {},
      info: () => {},
      warn: (...args: unknown[]) => this.#log.warn("slack: {line}", { line: line(args) }),
      error: (...args: unknown[]) => this.#log.error("slack: {line}", { line: line(args) }),
      setLevel: () => {},
      getLevel: () => LogLevel.WARN,
      setName: () => {},
    };
  }

  /**
   * Runs `call` (the Web API method `method`), waiting out 429s within the
   * retry options; any failure is thrown as a scrubbed {@link SlackApiError}.
   */
  async call<T>(method: string, call: (client: WebClient) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const maxRetries = this.#retry.maxRetries ?? 3;
    const maxDelay = this.#retry.maxDelaySeconds ?? 60;
    for (let attempt = 0;; attempt++) {
      try {
        return await call(this.client);
      } catch (err) {
        const error = this.toError(err, method);
        if (error.retryAfter === undefined || attempt >= maxRetries || error.retryAfter > maxDelay) {
          throw error;
        }
        this.#log.info("Slack rate-limited {method}; waiting {seconds} s as it asks (retry {attempt})", {
          method,
          seconds: error.retryAfter,
          attempt: attempt + 1,
        });
        await (this.#retry.sleep ?? abortableSleep)(error.retryAfter * 1000, signal);
      }
    }
  }

  /** `err` as a scrubbed {@link SlackApiError}. */
  toError(err: unknown, method: string): SlackApiError {
    if (err instanceof SlackApiError) return err;
    const e = err as { code?: string; data?: { error?: string }; retryAfter?: number; message?: string };
    const message = this.describe(err);
    if (e?.code === ErrorCode.RateLimitedError) {
      return new SlackApiError(message, method, "ratelimited", e.retryAfter);
    }
    if (e?.code === ErrorCode.PlatformError) return new SlackApiError(message, method, e.data?.error);
    return new SlackApiError(message, method);
  }

  /** One line describing `err`, scrubbed. */
  describe(err: unknown): string {
    const e = err as { code?: string; data?: { error?: string }; message?: string };
    const text = e?.code === ErrorCode.PlatformError
      ? `Slack answered ${e.data?.error ?? "an error"}`
      : err instanceof Error
      ? causes(err)
      : String(err);
    return scrubSlack(text.split("\n")[0], this.#secrets);
  }

  /** Logs `message` with `err` described (scrubbed). */
  warn(message: string, err: unknown, props: Record<string, unknown> = {}): void {
    this.#log.warn(message, { ...props, error: this.describe(err) });
  }

  /**
   * Fetches a message's file from its `url_private` with the bot token, only
   * from Slack's file hosts or the API server's own origin.
   */
  async fetchFile(url: string, signal?: AbortSignal): Promise<Response> {
    if (!this.mayFetch(url)) {
      throw new Error("the file is not on a Slack host; not fetched with the bot token");
    }
    return await fetch(url, {
      headers: { authorization: `Bearer ${this.#token}` },
      signal,
      redirect: "error",
    });
  }

  /** Whether the bot token may be sent to `url`: https on `*.slack.com`, or the configured API server's origin. */
  mayFetch(url: string): boolean {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return false;
    }
    if (parsed.origin === new URL(this.apiRoot).origin) return true;
    return parsed.protocol === "https:" &&
      (parsed.hostname === "slack.com" || parsed.hostname.endsWith(".slack.com"));
  }
}

function causes(err: Error, depth = 0): string {
  const cause = depth < 3 && err.cause instanceof Error ? `: ${causes(err.cause, depth + 1)}` : "";
  return `${err.message}${cause}`;
}
