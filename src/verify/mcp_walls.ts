/**
 * The MCP broker's wall. The kit runs the real broker on the probe's
 * `mcp.sock` over two in-process MCP servers (the official SDK's, linked in
 * memory, so a release needs no runtime besides itself): `verify-granted`,
 * of which the probe's group was granted `allowed` and `changed` (pinned as
 * approved, but offered now with another description: a rug pull), not
 * `forbidden`; and `verify-other`, granted nothing. Each tool counts the
 * calls that reach it.
 *
 * - `mcp-ungranted`: the probe lists its tools and calls `forbidden`, the
 *   changed tool, and `verify-other`'s tool. Held when the servers ran none
 *   of those calls, the broker's own audit shows each refused, the listing
 *   (as the probe reports it) held only `allowed`, and the probe's call of
 *   `allowed` did reach its server (so the broker was there to be tested).
 *
 * @module
 */
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { MCP_SOCKET_NAME } from "../../contract/sockets.ts";
import type { SessionId } from "../../contract/ids.ts";
import { GrantedTools, McpBroker, type McpCallRecord, McpConnections, toolHash } from "../mcp/mod.ts";
import type { ArmedWalls, WallKit, WallRun } from "./wall_kit.ts";
import { decideWall, pickAttempts, type Wall } from "./verdict.ts";

/** The MCP kit. */
export const mcpWalls: WallKit = { name: "mcp", arm };

const GRANTED = "verify-granted";
const OTHER = "verify-other";
const EMPTY_SCHEMA = { type: "object", properties: {} };

/** A server whose tools answer `ok` and count their calls in `calls` (`server/tool` → count). */
function witnessServer(name: string, calls: Map<string, number>): McpServer {
  const server = new McpServer({ name, version: "1.0.0" });
  const tools: Record<string, string> = name === GRANTED
    ? { allowed: "Answers ok.", changed: "Answers ok. Changed since approval.", forbidden: "Never granted." }
    : { allowed: "Answers ok (another server)." };
  for (const [tool, description] of Object.entries(tools)) {
    server.registerTool(tool, { description }, () => {
      calls.set(`${name}/${tool}`, (calls.get(`${name}/${tool}`) ?? 0) + 1);
      return { content: [{ type: "text", text: "ok" }] };
    });
  }
  return server;
}

async function arm(run: WallRun): Promise<ArmedWalls> {
  const calls = new Map<string, number>();
  const connections = new McpConnections(
    (name) =>
      name === GRANTED || name === OTHER ? { name, transport: "stdio", command: "in-process" } : undefined,
    {
      transports: async (config) => {
        const [client, server] = InMemoryTransport.createLinkedPair();
        await witnessServer(config.name, calls).connect(server);
        return client;
      },
      limits: { connectMs: 10_000, callMs: 10_000 },
    },
  );
  run.defer(() => connections.close());
  // What the human approved: `allowed` as offered, `changed` as it was before the server changed it.
  const offered = await connections.listTools(GRANTED);
  const pins = new Map([
    ["allowed", { hash: offered.find((t) => t.name === "allowed")!.hash, changeId: "chg_verify" }],
    [
      "changed",
      {
        hash: await toolHash({ name: "changed", description: "Answers ok.", inputSchema: EMPTY_SCHEMA }),
        changeId: "chg_verify",
      },
    ],
  ]);
  const granted = new GrantedTools({
    grants: (group) => group === "verify" ? [{ server: GRANTED }] : [],
    pins: (group, server) => group === "verify" && server === GRANTED ? pins : new Map(),
    connections,
    onWithheld: () => Promise.resolve(),
  });
  const audit: McpCallRecord[] = [];
  const broker = new McpBroker({
    granted,
    connections,
    rateLimit: { perSecond: 0, burst: 0 },
    onAudit: (record) => audit.push(record),
  });
  run.defer(() => broker.close());
  await broker.openSession(run.stage.sessionId as SessionId, {
    agentGroupId: "verify",
    socketPath: `${run.stage.dirs.socketDir}/${MCP_SOCKET_NAME}`,
  });
  const refused = [
    { server: GRANTED, tool: "forbidden" },
    { server: GRANTED, tool: "changed" },
    { server: OTHER, tool: "allowed" },
  ];

  return {
    targets: { mcp: { granted: { server: GRANTED, tool: "allowed" }, refused } },
    decide(end): Wall[] {
      const ran = [...calls].filter(([key]) => key !== `${GRANTED}/allowed`);
      const through = audit.filter((r) => r.ok && !(r.server === GRANTED && r.tool === "allowed"));
      return [decideWall("mcp-ungranted", {
        attempts: pickAttempts(end.report, "mcp."),
        expected: 1 + refused.length,
        breaches: [
          ...ran.map(([key, n]) => `${key} ran ${n} call(s) the group was not granted`),
          ...through.map((r) => `the broker passed a call of ${r.server}/${r.tool}`),
          ...(calls.get(`${GRANTED}/allowed`)
            ? []
            : ["the granted tool was never called through the broker, so nothing was tested"]),
        ],
        heldNote:
          "the granted tool's server ran the probe's call of it; the ungranted tool, the changed tool " +
          "and the other server's tool were refused by the broker and ran nowhere",
      })];
    },
  };
}
