/**
 * The MCP broker: one HTTP/1.1 listener per session on `mcp.sock` in that
 * session's socket directory (bind-mounted into its sandbox, like the egress
 * broker's). The socket is the caller's identity: the broker knows the
 * session and its agent group from which socket a request came in on.
 *
 * Every listing and every call resolves the group's grants against what the
 * servers offer now ({@link GrantedTools}): only a granted tool whose
 * description and schema are still the ones a human approved is listed or
 * called; a changed one is refused until re-approved. Arguments and results
 * are capped in size and a call in time, a dead or hung server is a one-line
 * error for the agent (the connection is dropped and started again on the
 * next call), and every call leaves one audit record: metadata only, never
 * arguments or results.
 *
 * @module
 */
import {
  MCP_CALL_PATH,
  MCP_TOOLS_PATH,
  type McpCallAnswer,
  McpCallRequest,
  type McpToolList,
} from "../../contract/mcp.ts";
import type { SessionId } from "../../contract/ids.ts";
import { nowTimestamp, type Timestamp } from "../../contract/time.ts";
import { readCapped } from "../http/mod.ts";
import { type RateLimit, TokenBucket } from "../model_proxy/mod.ts";
import { DEFAULT_SOCKET_MODE, SessionServers } from "../unix_socket/mod.ts";
import type { McpConnections } from "./connections.ts";
import type { GrantedTools } from "./granted_tools.ts";

/** One call's audit record: who called what, how long, how it ended and how big; never the content. */
export interface McpCallRecord {
  time: Timestamp;
  action: "mcp.call";
  session: SessionId;
  agentGroup: string;
  server: string;
  tool: string;
  ms: number;
  ok: boolean;
  /** Bytes of the arguments' JSON. */
  argumentBytes: number;
  /** Bytes of the text returned to the agent. */
  resultBytes: number;
  /** Why the call was refused or failed, in one line (a server's own error answer is `ok` and `serverError`). */
  error?: string;
  /** The server answered with an error result. */
  serverError?: boolean;
}

/** How the broker is set up. */
export interface McpBrokerOptions {
  /** The grants resolved against what the servers offer now. */
  granted: Pick<GrantedTools, "resolve">;
  /** The host's client connections (their limits are the broker's caps). */
  connections: Pick<McpConnections, "callTool" | "limits">;
  /** Per-session cap (default 5 rps, burst 30); `perSecond: 0` turns it off. */
  rateLimit?: RateLimit;
  socketMode?: number;
  /** Called once per call. Must not throw. */
  onAudit?: (record: McpCallRecord) => void;
}

/** The default per-session cap: every call reaches a server shared by all sessions. */
export const DEFAULT_MCP_RATE_LIMIT: RateLimit = { perSecond: 5, burst: 30 };

/** A refusal or failure with its status; the message is for the agent. */
class Refusal extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

interface Session {
  id: SessionId;
  agentGroupId: string;
  bucket?: TokenBucket;
}

/** The MCP broker. */
export class McpBroker {
  readonly #servers: SessionServers;
  readonly #options: McpBrokerOptions;

  constructor(options: McpBrokerOptions) {
    this.#options = options;
    this.#servers = new SessionServers("mcp", options.socketMode ?? DEFAULT_SOCKET_MODE);
  }

  /** Starts serving `session` of `agentGroupId` on `socketPath` (parent created 0700, stale socket replaced). */
  async openSession(session: SessionId, at: { agentGroupId: string; socketPath: string }): Promise<void> {
    const rate = this.#options.rateLimit ?? DEFAULT_MCP_RATE_LIMIT;
    const state: Session = {
      id: session,
      agentGroupId: at.agentGroupId,
      bucket: rate.perSecond > 0 ? new TokenBucket(rate) : undefined,
    };
    await this.#servers.open(session, at.socketPath, (req) => this.#handle(req, state));
  }

  /** Stops serving `session` and removes its socket. Unknown sessions are ignored. */
  async closeSession(session: SessionId): Promise<void> {
    await this.#servers.close(session);
  }

  /** Closes every session. */
  async close(): Promise<void> {
    await this.#servers.closeAll();
  }

  async #handle(req: Request, session: Session): Promise<Response> {
    const path = URL.parse(req.url)?.pathname;
    try {
      // Every request costs a token, refused ones too, so a sandbox cannot flood the servers or the audit.
      if (session.bucket !== undefined && !session.bucket.take()) {
        throw new Refusal(429, "mcp: rate limit exceeded, slow down");
      }
      if (req.method === "GET" && path === MCP_TOOLS_PATH) return Response.json(await this.#list(session));
      if (req.method === "POST" && path === MCP_CALL_PATH) return await this.#call(req, session);
      throw new Refusal(404, `mcp: no route ${req.method} ${path}`);
    } catch (error) {
      if (error instanceof Refusal) return Response.json({ error: error.message }, { status: error.status });
      return Response.json({ error: `mcp: ${(error as Error).message}` }, { status: 500 });
    }
  }

  async #list(session: Session): Promise<McpToolList> {
    const { tools, unreachable, grantedServers } = await this.#options.granted.resolve(session.agentGroupId);
    return {
      grantedServers,
      tools: tools.filter((t) => t.state === "live").map((t) => ({
        server: t.server,
        tool: t.tool,
        description: t.offered!.description,
        inputSchema: t.offered!.inputSchema,
      })),
      unavailable: unreachable,
    };
  }

  async #call(req: Request, session: Session): Promise<Response> {
    const started = performance.now();
    const { maxBytes } = this.#options.connections.limits;
    const record: McpCallRecord = {
      time: nowTimestamp(),
      action: "mcp.call",
      session: session.id,
      agentGroup: session.agentGroupId,
      server: "",
      tool: "",
      ms: 0,
      ok: false,
      argumentBytes: 0,
      resultBytes: 0,
    };
    const finish = (status: number, body: McpCallAnswer | { error: string }) => {
      record.ms = Math.round(performance.now() - started);
      this.#options.onAudit?.(record);
      return Response.json(body, { status });
    };
    try {
      // The arguments travel inside the envelope: a little room for it on top of the cap.
      const bytes = await readCapped(req.body, maxBytes + 1024);
      if (bytes === undefined) throw new Refusal(413, `mcp: the arguments exceed ${maxBytes} bytes`);
      const input = McpCallRequest.safeParse(JSON.parse(new TextDecoder().decode(bytes) || "null"));
      if (!input.success) throw new Refusal(400, "mcp: a call is {server, tool, arguments: {…}}");
      const { server, tool } = input.data;
      Object.assign(record, { server, tool, argumentBytes: JSON.stringify(input.data.arguments).length });
      await this.#checkGranted(session.agentGroupId, server, tool);
      const result = await this.#options.connections.callTool(server, tool, input.data.arguments);
      const text = resultText(result.content);
      Object.assign(record, {
        ok: true,
        resultBytes: new TextEncoder().encode(text).length,
        ...(result.isError ? { serverError: true } : {}),
      });
      return finish(200, { text, isError: result.isError });
    } catch (error) {
      const refusal = error instanceof Refusal
        ? error
        : error instanceof SyntaxError
        ? new Refusal(400, "mcp: the request body is not JSON")
        : new Refusal(502, `mcp: ${(error as Error).message.split("\n")[0]}`);
      record.error = refusal.message;
      return finish(refusal.status, { error: refusal.message });
    }
  }

  /** Throws a {@link Refusal} unless `server`'s `tool` is granted to the group and offered as approved. */
  async #checkGranted(agentGroupId: string, server: string, tool: string): Promise<void> {
    const { tools, unreachable } = await this.#options.granted.resolve(agentGroupId, { server });
    const down = unreachable.find((u) => u.server === server);
    if (down) throw new Refusal(502, `mcp: ${down.error.split("\n")[0]}`);
    const granted = tools.find((t) => t.server === server && t.tool === tool);
    if (!granted) throw new Refusal(403, `mcp: ${server}/${tool} is not granted to this agent`);
    if (granted.state === "withheld") {
      throw new Refusal(
        403,
        `mcp: ${server}/${tool} changed its description or schema since a human approved it; ` +
          "it is withheld until they approve the new version",
      );
    }
    if (granted.state === "gone") throw new Refusal(404, `mcp: ${server} no longer offers ${tool}`);
  }
}

/** A result's content as text: text parts as they are, anything else described, not passed on. */
export function resultText(content: readonly unknown[]): string {
  return content.map((part) => {
    const p = part as { type?: string; text?: string; mimeType?: string; uri?: string; resource?: unknown };
    switch (p.type) {
      case "text":
        return p.text ?? "";
      case "image":
      case "audio":
        return `[${p.type} ${p.mimeType ?? ""} not shown]`;
      case "resource": {
        const r = p.resource as { uri?: string; text?: string } | undefined;
        return r?.text ?? `[resource ${r?.uri ?? ""} not shown]`;
      }
      case "resource_link":
        return `[link ${p.uri ?? ""}]`;
      default:
        return `[${p.type ?? "unknown"} content not shown]`;
    }
  }).join("\n");
}
