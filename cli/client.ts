/**
 * The CLI's HTTP client for a running control plane. The base URL comes from
 * `--api-url`, else `$IRONCLAW_API_URL`, else `http://127.0.0.1:8787`; the
 * token from `$IRONCLAW_API_TOKEN`, else `<state-dir>/api-token`. Every
 * failure becomes one {@linkcode CliError} line.
 *
 * @module
 */
import type { Command } from "commander";
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

/** A request's options. */
export interface RequestOptions {
  /** JSON body. */
  body?: unknown;
  /** Query parameters. */
  query?: Record<string, string | number | undefined>;
}

/** One response, when the caller wants the status as well as the body. */
export interface ApiResponse<T> {
  status: number;
  body: T;
}

/** A JSON client of the control plane's HTTP API. */
export class ApiClient {
  readonly baseUrl: string;

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
  }

  /** The client the flags and environment describe. */
  static fromFlags(flags: ClientFlags): ApiClient {
    const url = flags.apiUrl ?? Deno.env.get(API_URL_ENV) ?? DEFAULT_API_URL;
    return new ApiClient(url, readClientToken(flags.stateDir ?? defaultStateDir()));
  }

  /** GET `path`, returning the parsed body. */
  async get<T>(path: string, options: RequestOptions = {}): Promise<T> {
    return (await this.request<T>("GET", path, options)).body;
  }

  /** POST `body` to `path`, returning the parsed body. */
  async post<T>(path: string, body: unknown): Promise<T> {
    return (await this.request<T>("POST", path, { body })).body;
  }

  /** PUT `body` to `path`, returning the parsed body. */
  async put<T>(path: string, body: unknown): Promise<T> {
    return (await this.request<T>("PUT", path, { body })).body;
  }

  /**
   * Sends one request. Non-2xx answers throw a {@linkcode CliError} carrying
   * the API's `{"error"}` line; 401 says how to supply the token.
   * `allowStatus` lists other statuses returned rather than thrown.
   */
  async request<T>(
    method: string,
    path: string,
    options: RequestOptions = {},
    allowStatus: readonly number[] = [],
  ): Promise<ApiResponse<T>> {
    const url = new URL(`${this.baseUrl}${path}`);
    for (const [k, v] of Object.entries(options.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (options.body !== undefined) headers["content-type"] = "application/json";
    let response: Response;
    try {
      response = await this.fetchFn(url, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      if (err instanceof DOMException && err.name === "TimeoutError") {
        throw new CliError(`the control plane at ${this.baseUrl} did not answer ${method} ${path} in time`);
      }
      throw new CliError(`cannot reach the control plane at ${this.baseUrl}: is \`ironclaw serve\` running?`);
    }
    const text = await response.text();
    let body: unknown = undefined;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON: reported below by status, or returned as text.
      body = text;
    }
    if (response.ok || allowStatus.includes(response.status)) {
      return { status: response.status, body: body as T };
    }
    throw new CliError(describeFailure(response.status, response.statusText, body, this.token !== undefined));
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
  const line = (error ?? `HTTP ${status} ${statusText}`.trim()).split("\n")[0];
  return status === 429 ? `${line} (rate limited; try again shortly)` : line;
}
