/**
 * The CLI's HTTP client for a running control plane. The base URL comes from
 * `--api-url`, else `$IRONCLAW_API_URL`, else `http://127.0.0.1:8787`; the
 * token from `$IRONCLAW_API_TOKEN`, else `<state-dir>/api-token`. Every
 * failure becomes one {@linkcode CliError} line.
 *
 * @module
 */
import type { Command } from "commander";
import type { ClientResponse } from "hono/client";
import type { SuccessStatusCode } from "hono/utils/http-status";
import { apiClient, type ApiRpc } from "../src/api/mod.ts";
import { defaultStateDir, readClientToken } from "../src/control_plane/mod.ts";
import { CliError } from "./errors.ts";

/** Where the API is when nothing says otherwise. */
export const DEFAULT_API_URL = "http://127.0.0.1:8787";

/** Environment variable naming the API's base URL. */
export const API_URL_ENV = "IRONCLAW_API_URL";

/** How long one request may take before the CLI gives up. */
const REQUEST_TIMEOUT_MS = 30_000;

/** The flags every client command accepts. */
export interface ClientFlags {
  apiUrl?: string;
  stateDir?: string;
}

/** Adds `--api-url` and `--state-dir` (where the token file is) to `cmd`. */
export function withClientFlags(cmd: Command): Command {
  return cmd
    .option("--api-url <url>", `control plane URL (default $${API_URL_ENV} or ${DEFAULT_API_URL})`)
    .option("--state-dir <dir>", "state directory holding the api-token file (default: the standard one)");
}

/** The JSON body of `R`'s answers whose status is in `S` (by default the 2xx ones). */
export type BodyOf<R, S extends number = SuccessStatusCode> = R extends
  ClientResponse<infer T, infer U, infer _F> ? U extends S ? T : never
  : never;

/** One answer, when the caller wants the status as well as the body. */
export interface ApiResponse<T> {
  status: number;
  body: T;
}

/** One typed call: picks a route of `api` and sends it, e.g. `(api) => api.v1.changes.pending.$get()`. */
export type ApiCall<R> = (api: ApiRpc) => Promise<R>;

/**
 * The control plane's HTTP API, typed by its routes (`hc<ApiApp>`): a route
 * changed on the server breaks the CLI's build, not a user's command.
 */
export class ApiClient {
  readonly baseUrl: string;
  readonly #api: ApiRpc;

  constructor(
    baseUrl: string,
    readonly token: string | undefined,
    private readonly fetchFn: typeof fetch = fetch,
  ) {
    let url: URL;
    try {
      url = new URL(baseUrl);
    } catch {
      throw new CliError(`invalid API URL ${JSON.stringify(baseUrl)}: expected e.g. ${DEFAULT_API_URL}`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new CliError(`invalid API URL ${baseUrl}: only http and https are supported`);
    }
    this.baseUrl = url.href.replace(/\/+$/, "");
    this.#api = apiClient(this.baseUrl, {
      fetch: (input: RequestInfo | URL, init?: RequestInit) => this.#fetch(input, init),
    });
  }

  /** The client the flags and environment describe. */
  static fromFlags(flags: ClientFlags): ApiClient {
    const url = flags.apiUrl ?? Deno.env.get(API_URL_ENV) ?? DEFAULT_API_URL;
    return new ApiClient(url, readClientToken(flags.stateDir ?? defaultStateDir()));
  }

  /**
   * Sends one typed request and returns its JSON body. Non-2xx answers throw
   * a {@linkcode CliError} carrying the API's `{"error"}` line; 401 says how
   * to supply the token.
   */
  async call<R extends ClientResponse<unknown>>(send: ApiCall<R>): Promise<BodyOf<R>> {
    return (await this.answer(send)).body;
  }

  /** Like {@linkcode ApiClient.call}, with the status; the statuses in `allow` are returned rather than thrown. */
  async answer<R extends ClientResponse<unknown>, const S extends number = never>(
    send: ApiCall<R>,
    allow: readonly S[] = [],
  ): Promise<ApiResponse<BodyOf<R, SuccessStatusCode | S>>> {
    const response = await send(this.#api);
    const body = parseBody(await response.text());
    if (response.ok || (allow as readonly number[]).includes(response.status)) {
      // The route's own answer schema types it (the server validated what it sent against nothing else).
      return { status: response.status, body: body as BodyOf<R, SuccessStatusCode | S> };
    }
    throw new CliError(describeFailure(response.status, response.statusText, body, this.token !== undefined));
  }

  /** Sends one typed request whose answer is a file (e.g. a backup); returns its bytes. Failures throw as in `call`. */
  async download<R extends ClientResponse<unknown>>(send: ApiCall<R>): Promise<Uint8Array<ArrayBuffer>> {
    const response = await send(this.#api);
    if (response.ok) return new Uint8Array(await response.arrayBuffer());
    const body = parseBody(await response.text());
    throw new CliError(describeFailure(response.status, response.statusText, body, this.token !== undefined));
  }

  /** Every request: the token and JSON headers, a deadline, and one line when the plane cannot be reached. */
  async #fetch(input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set("accept", "application/json");
    if (this.token) headers.set("authorization", `Bearer ${this.token}`);
    const method = init.method ?? "GET";
    const path = new URL(input instanceof Request ? input.url : input).pathname;
    const deadline = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    try {
      return await this.fetchFn(input, {
        ...init,
        headers,
        signal: init.signal ? AbortSignal.any([init.signal, deadline]) : deadline,
      });
    } catch (err) {
      // The caller called it off (e.g. `chat` leaving): not a failure to report.
      if (init.signal?.aborted) throw init.signal.reason;
      if (err instanceof DOMException && err.name === "TimeoutError") {
        throw new CliError(`the control plane at ${this.baseUrl} did not answer ${method} ${path} in time`);
      }
      throw new CliError(`cannot reach the control plane at ${this.baseUrl}: is \`ironclaw serve\` running?`);
    }
  }
}

/** An answer's body: its JSON, else the text itself (reported by status, or returned as text). */
function parseBody(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text;
  }
}

/** The one line a failed response becomes. */
export function describeFailure(
  status: number,
  statusText: string,
  body: unknown,
  hadToken: boolean,
): string {
  if (status === 401) {
    return hadToken
      ? "the API refused the token (401): set IRONCLAW_API_TOKEN or --state-dir to the server's token"
      : "no API token (401): set IRONCLAW_API_TOKEN, or pass --state-dir of the control plane " +
        "(its token is in <state-dir>/api-token)";
  }
  const error = body !== null && typeof body === "object" && "error" in body
    ? String((body as { error: unknown }).error)
    : undefined;
  const line = flagNames((error ?? `HTTP ${status} ${statusText}`.trim()).split("\n")[0]);
  return status === 429 ? `${line} (rate limited; try again shortly)` : line;
}

/** The CLI flag that carries each API body field, so an error names what the user typed. */
const FIELD_FLAGS: Record<string, string> = {
  agentGroupId: "--agent",
  userId: "--user",
  requestedBy: "--requested-by",
  decidedBy: "--by",
  chatId: "--chat-id",
  messagingGroupId: "--messaging-group",
  after: "--after",
};

/** `line` with a leading API field name (`agentGroupId: …`, `after.tools: …`) given as its flag. */
export function flagNames(line: string): string {
  return line.replace(/^([A-Za-z]+)(?=[.:])/, (field) => FIELD_FLAGS[field] ?? field);
}
