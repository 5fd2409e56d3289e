/**
 * Host-side MCP client connections, one per catalogued server, made with the
 * official SDK and shared by every session: opened on first use, dropped when
 * the server closes or fails (the next use starts it again), each request
 * under a deadline so a hung server answers with an error, never a hang.
 *
 * Where a server runs is the transport's business ({@link McpTransports}): a
 * remote server over streamable HTTP behind the egress broker's address
 * guard; a local stdio server as a bare host process only when the operator
 * allowed it (`serve --mcp-allow-host-process`, labelled weaker in `status`).
 *
 * @module
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { getDefaultEnvironment, StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { McpRegisterPayload } from "../../contract/changes.ts";
import { checkTarget, PrivateAllowance, type Resolver, systemResolver } from "../egress/mod.ts";
import { offered, type OfferedTool } from "./offered_tools.ts";

/** A server could not be reached, listed or called; the message says why and what to do. */
export class McpUnavailable extends Error {
  override name = "McpUnavailable";
}

/** How the host reaches servers. */
export interface McpTransportOptions {
  /** Run stdio servers as bare host processes (weaker; `serve --mcp-allow-host-process`). */
  allowHostProcess?: boolean;
  /** Private `host:port` pairs a remote server may be at (`--egress-allow-private`). */
  allowPrivate?: PrivateAllowance;
  resolve?: Resolver;
}

/** Builds the transport to one server. */
export type McpTransports = (config: McpRegisterPayload) => Promise<Transport>;

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
      // The same SSRF rule as the egress broker: public addresses only, unless the operator let this port through.
      await checkTarget(url, { resolve, allowPrivate }).catch((err) => {
        throw new McpUnavailable(`${config.name}: ${(err as Error).message}`);
      });
      return new StreamableHTTPClientTransport(url, {
        requestInit: { headers: config.headers ?? {}, redirect: "error" },
      });
    }
    if (!options.allowHostProcess) {
      throw new McpUnavailable(
        `${config.name}: stdio servers run only as host processes in this build; ` +
          "start serve with --mcp-allow-host-process to allow that (weaker isolation)",
      );
    }
    // A minimal environment (PATH, HOME…), never the host's: no model key, no other server's secrets.
    return new StdioClientTransport({
      command: config.command!,
      args: config.args ?? [],
      env: { ...getDefaultEnvironment(), ...config.env ?? {} },
      stderr: "ignore",
    });
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

  /** Closes every connection (stopping local servers). */
  async close(): Promise<void> {
    await Promise.all([...this.#clients.keys()].map((name) => this.invalidate(name)));
  }

  async #use<T>(server: string, work: (client: Client) => Promise<T>): Promise<T> {
    const client = await this.#client(server);
    try {
      return await work(client);
    } catch (err) {
      // A dead or hung server is dropped; the next use starts it afresh.
      await this.invalidate(server);
      throw new McpUnavailable(`${server}: ${(err as Error).message}`);
    }
  }

  #client(server: string): Promise<Client> {
    let client = this.#clients.get(server);
    if (!client) {
      client = this.#connect(server);
      this.#clients.set(server, client);
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
      await client.close().catch(() => {});
      throw new McpUnavailable(`${server} did not start: ${(err as Error).message}`);
    }
    return client;
  }
}
