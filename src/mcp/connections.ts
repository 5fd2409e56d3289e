/**
 * Host-side MCP client connections, one per catalogued server, made with the
 * official SDK and shared by every session: opened on first use, dropped when
 * the server closes or fails (the next use starts it again), each request
 * under a deadline so a hung server answers with an error, never a hang.
 *
 * Where a server runs is the transport's business ({@link McpTransports}): a
 * remote server over streamable HTTP behind the egress broker's address
 * guard; a local stdio server in a sandbox of its own (the agents' backend,
 * runsc or bwrap: see `isolator/tool_server.ts`), or as a bare host process
 * only when the operator asked for that (`serve --mcp-allow-host-process`,
 * labelled weaker in `status`). A stdio server's environment is exactly its
 * registration's, its `--env-secret` values read from the vault at each start.
 *
 * @module
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { getDefaultEnvironment, StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { McpRegisterPayload } from "../../contract/changes.ts";
import { resolveCommand, toolServerBinds, type ToolServerSandbox } from "../../isolator/mod.ts";
import { http1Fetch } from "../../contract/http1_client.ts";
import {
  checkTarget,
  connectChecked,
  PrivateAllowance,
  type Resolver,
  systemResolver,
} from "../egress/mod.ts";
import { offered, type OfferedTool } from "./offered_tools.ts";
import { SandboxedStdioTransport } from "./sandboxed_stdio.ts";

/** A server could not be reached, listed or called; the message says why and what to do. */
export class McpUnavailable extends Error {
  override name = "McpUnavailable";
}

/** How the host reaches servers. */
export interface McpTransportOptions {
  /** Run stdio servers as bare host processes (weaker; `serve --mcp-allow-host-process`). */
  allowHostProcess?: boolean;
  /**
   * The sandbox stdio servers run in, or why there is none here (the agents'
   * backend is neither runsc nor bwrap). Unused with {@link allowHostProcess}.
   */
  sandbox?: () => Promise<ToolServerSandbox | { unavailable: string }>;
  /** A vault secret's value (a registration's `envSecrets`), read at each start; undefined when not set. */
  secret?: (name: string) => Promise<string | undefined>;
  /** Private `host:port` pairs a remote server may be at (`--egress-allow-private`). */
  allowPrivate?: PrivateAllowance;
  resolve?: Resolver;
  /** Extra trust anchors (PEM) for remote servers' TLS, for tests' local servers; the system roots otherwise. */
  caCerts?: string[];
}

/** Builds the transport to one server. */
export type McpTransports = (config: McpRegisterPayload) => Promise<Transport>;

/** Where stdio servers run: in a sandbox, as bare host processes (weaker), or nowhere (and why). */
export type StdioPlacement =
  | { kind: "sandbox"; sandbox: ToolServerSandbox }
  | { kind: "host-process" }
  | { kind: "refused"; reason: string };

/** Where `options` put stdio servers (see {@link McpTransportOptions.sandbox}). */
export async function stdioPlacement(options: McpTransportOptions): Promise<StdioPlacement> {
  if (options.allowHostProcess) return { kind: "host-process" };
  const sandbox = await options.sandbox?.();
  if (sandbox && !("unavailable" in sandbox)) return { kind: "sandbox", sandbox };
  return {
    kind: "refused",
    reason: `stdio MCP servers run only in a runsc or bwrap sandbox, and ${
      sandbox?.unavailable ?? "this host has none"
    }; start serve with --mcp-allow-host-process to run them as host processes (weaker isolation)`,
  };
}

/**
 * Why `server` could not start on this host, checked when it is proposed:
 * an `--env-secret` whose vault secret is not set, or (stdio) a program not
 * found or a path its sandbox may not hold. Undefined when it could.
 */
export function registrationProblem(
  server: McpRegisterPayload,
  host: { hasSecret(name: string): boolean; forbiddenPaths: readonly string[] },
): string | undefined {
  if (server.transport !== "stdio") return undefined;
  for (const [variable, name] of Object.entries(server.envSecrets ?? {})) {
    if (!host.hasSecret(name)) {
      return `vault secret ${name} (for ${variable}) is not set; set it first with: ironclaw vault set ${name}`;
    }
  }
  try {
    toolServerBinds(resolveCommand(server.command!), {
      paths: server.paths,
      forbiddenPaths: host.forbiddenPaths,
    });
  } catch (err) {
    return `${server.name}: ${(err as Error).message}`;
  }
  return undefined;
}

/** The environment a stdio server gets: its registration's values and its secrets from the vault. */
async function serverEnv(
  config: McpRegisterPayload,
  secret: McpTransportOptions["secret"],
): Promise<Record<string, string>> {
  const env = { ...config.env };
  for (const [variable, name] of Object.entries(config.envSecrets ?? {})) {
    const value = await secret?.(name);
    if (value === undefined) {
      throw new McpUnavailable(
        `${config.name}: vault secret ${name} (for ${variable}) is not set; set it with: ironclaw vault set ${name}`,
      );
    }
    env[variable] = value;
  }
  return env;
}

/**
 * The SDK's fetch for a remote server, with the egress broker's SSRF rule on
 * every request: public addresses only unless the operator let the port
 * through, the connection made to the very address checked (no second
 * lookup, so no DNS-rebinding window), TLS verified against the name, and a
 * redirect refused (it could point anywhere).
 */
function guardedMcpFetch(
  options: { resolve: Resolver; allowPrivate: PrivateAllowance; caCerts?: string[] },
): (input: string | URL | Request, init?: RequestInit) => Promise<Response> {
  return async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    const target = await checkTarget(url, options);
    const response = await http1Fetch(request, {
      target: "origin",
      connect: () => connectChecked(url, target, options.caCerts),
    });
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel();
      throw new Error(`${url.origin} answered with a redirect (${response.status}), which is refused`);
    }
    return response;
  };
}

/** The standard transports: see the module doc. */
export function mcpTransports(options: McpTransportOptions = {}): McpTransports {
  const allowPrivate = options.allowPrivate ?? new PrivateAllowance();
  const resolve = options.resolve ?? systemResolver;
  return async (config) => {
    if (config.transport === "http") {
      const url = new URL(config.url!);
      if (url.protocol !== "https:" && !allowPrivate.allows(url.hostname, Number(url.port || 80))) {
        throw new McpUnavailable(
          `${config.name}: ${url.origin} is plain http; only https, or a private port let through`,
        );
      }
      if (url.username || url.password) {
        throw new McpUnavailable(`${config.name}: URLs with credentials are refused`);
      }
      // Refused before the client starts, so the error names the rule rather than a failed handshake.
      await checkTarget(url, { resolve, allowPrivate }).catch((err) => {
        throw new McpUnavailable(`${config.name}: ${(err as Error).message}`);
      });
      return new StreamableHTTPClientTransport(url, {
        requestInit: { headers: config.headers ?? {}, redirect: "error" },
        fetch: guardedMcpFetch({ resolve, allowPrivate, caCerts: options.caCerts }),
      });
    }
    const placement = await stdioPlacement(options);
    if (placement.kind === "refused") throw new McpUnavailable(`${config.name}: ${placement.reason}`);
    // Never the host's environment: no model key, no other server's secrets.
    const env = await serverEnv(config, options.secret);
    if (placement.kind === "host-process") {
      return new StdioClientTransport({
        command: config.command!,
        args: config.args ?? [],
        env: { ...getDefaultEnvironment(), ...env },
        stderr: "ignore",
      });
    }
    const id = `mcp-${config.name}-${crypto.randomUUID().slice(0, 8)}`;
    return new SandboxedStdioTransport(() =>
      placement.sandbox.start({ id, command: config.command!, args: config.args, env, paths: config.paths })
    );
  };
}

/** Deadlines and caps. */
export interface McpLimits {
  /** Connect, initialize and list (default 30 s). */
  connectMs: number;
  /** One tool call (default 60 s). */
  callMs: number;
  /** Arguments and results, in bytes of JSON (default 1 MiB). */
  maxBytes: number;
}

/** 30 s to connect, 60 s a call, 1 MiB each way. */
export const DEFAULT_MCP_LIMITS: McpLimits = { connectMs: 30_000, callMs: 60_000, maxBytes: 1 << 20 };

/** A tool call's answer, as MCP gives it. */
export interface McpCallResult {
  content: unknown[];
  isError: boolean;
}

/** The connections to the catalogued servers. */
export class McpConnections {
  readonly #config: (name: string) => McpRegisterPayload | undefined;
  readonly #transports: McpTransports;
  readonly #clients = new Map<string, Promise<Client>>();
  /** The registration each client was started with (canonical enough: the catalog stores it as parsed). */
  readonly #registrations = new Map<string, string>();
  readonly limits: McpLimits;

  constructor(
    config: (name: string) => McpRegisterPayload | undefined,
    options: { transports: McpTransports; limits?: Partial<McpLimits> },
  ) {
    this.#config = config;
    this.#transports = options.transports;
    this.limits = { ...DEFAULT_MCP_LIMITS, ...options.limits };
  }

  /** What `server` offers now: each tool's name, description, schema and hash. */
  async listTools(server: string): Promise<OfferedTool[]> {
    return await this.#use(server, async (client) => {
      const { tools } = await client.listTools(undefined, { timeout: this.limits.connectMs });
      return await offered(tools);
    });
  }

  /** Calls `tool` on `server`; a failure of the server is an {@link McpUnavailable}. */
  async callTool(server: string, tool: string, args: Record<string, unknown>): Promise<McpCallResult> {
    if (JSON.stringify(args).length > this.limits.maxBytes) {
      throw new McpUnavailable(`the arguments exceed ${this.limits.maxBytes} bytes`);
    }
    const result = await this.#use(server, async (client) =>
      CallToolResultSchema.parse(
        await client.callTool({ name: tool, arguments: args }, undefined, { timeout: this.limits.callMs }),
      ));
    if (JSON.stringify(result).length > this.limits.maxBytes) {
      throw new McpUnavailable(`${server}'s answer exceeds ${this.limits.maxBytes} bytes`);
    }
    return { content: (result.content ?? []) as unknown[], isError: result.isError === true };
  }

  /** Drops the connection to `server` (its registration changed or was removed). */
  async invalidate(server: string): Promise<void> {
    const client = this.#clients.get(server);
    this.#clients.delete(server);
    await client?.then((c) => c.close()).catch(() => {});
  }

  /** Drops the connections of the servers whose registration `matches` (a vault secret they hold changed). */
  async invalidateWhere(matches: (config: McpRegisterPayload) => boolean): Promise<void> {
    const stale = [...this.#clients.keys()].filter((name) => {
      const config = this.#config(name);
      return config !== undefined && matches(config);
    });
    await Promise.all(stale.map((name) => this.invalidate(name)));
  }

  /** Closes every connection (stopping local servers). */
  async close(): Promise<void> {
    await Promise.all([...this.#clients.keys()].map((name) => this.invalidate(name)));
  }

  async #use<T>(server: string, work: (client: Client) => Promise<T>): Promise<T> {
    const client = await this.#client(server);
    const transport = client.transport;
    try {
      return await work(client);
    } catch (err) {
      // A sandboxed server that died says how, and where its log is.
      const exit = transport instanceof SandboxedStdioTransport ? transport.exitDetail() : undefined;
      // A dead or hung server is dropped; the next use starts it afresh.
      await this.invalidate(server);
      throw new McpUnavailable(
        `${server}: ${
          exit ? `the server ended (${exit}); it starts again on the next use` : (err as Error).message
        }`,
      );
    }
  }

  #client(server: string): Promise<Client> {
    let client = this.#clients.get(server);
    const registration = JSON.stringify(this.#config(server) ?? null);
    if (client && this.#registrations.get(server) !== registration) {
      // Registered anew since it started (another command, path or secret): the old one goes, the new one runs.
      void this.invalidate(server);
      client = undefined;
    }
    if (!client) {
      client = this.#connect(server);
      this.#clients.set(server, client);
      this.#registrations.set(server, registration);
      const cached = client;
      const forget = () => {
        if (this.#clients.get(server) === cached) this.#clients.delete(server);
      };
      // A server that exits (or never started) is forgotten: the next use starts it again.
      cached.then((c) => c.onclose = forget, forget);
    }
    return client;
  }

  async #connect(server: string): Promise<Client> {
    const config = this.#config(server);
    if (!config) throw new McpUnavailable(`no MCP server ${server} in the catalog (see: ironclaw mcp list)`);
    const transport = await this.#transports(config);
    const client = new Client({ name: "ironclaw", version: "1" });
    try {
      await client.connect(transport, { timeout: this.limits.connectMs });
    } catch (err) {
      // A sandboxed server that ended says how, and where its log is.
      const exit = transport instanceof SandboxedStdioTransport ? transport.exitDetail() : undefined;
      await client.close().catch(() => {});
      throw new McpUnavailable(`${server} did not start: ${exit ?? (err as Error).message}`);
    }
    return client;
  }
}
