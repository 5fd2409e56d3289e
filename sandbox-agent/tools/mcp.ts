/**
 * MCP tools: the tools of MCP servers a human granted this agent's group,
 * listed by the host's MCP broker on `mcp.sock` (asked at the start of each
 * answer, so a grant, a re-approval or a withheld tool takes effect at the
 * next one; while the group has no grants at all, asked once: a grant
 * restarts the sandbox, see `McpToolList`) and offered to the model as `mcp__<server>__<tool>` with the
 * server's own input schema. A call goes to the broker, which checks the
 * grant and the approved version again; what the server answers comes back
 * marked as untrusted tool output.
 *
 * @module
 */
import { z } from "zod";
import {
  MCP_BROKER_HOST,
  MCP_CALL_PATH,
  MCP_TOOLS_PATH,
  McpBrokerError,
  type McpBrokerTool,
  McpCallAnswer,
  McpToolList,
  mcpToolName,
} from "../../contract/mcp.ts";
import { callBroker } from "./broker_call.ts";
import { type Tool, ToolError } from "./tool.ts";
import { untrustedOutput } from "./untrusted.ts";

/** The granted tools now, and the granted ones that could not be offered (with why). */
export interface McpToolSet {
  tools: Tool[];
  /** Servers the host could not ask, and tools whose names the model cannot take. */
  skipped: string[];
}

/** The agent's side of the MCP broker. */
export class McpTools {
  readonly #fetch: typeof fetch;
  /** The answer for a group with no grants, which holds until a grant restarts this sandbox. */
  #noGrants: McpToolSet | undefined;

  /** `brokerFetch` reaches the host's MCP broker (a fetch over `mcp.sock`). */
  constructor(brokerFetch: typeof fetch) {
    this.#fetch = brokerFetch;
  }

  /** Asks the broker for the live granted tools (once, while none are granted); throws when it cannot be reached. */
  async list(): Promise<McpToolSet> {
    if (this.#noGrants) return this.#noGrants;
    const listed = McpToolList.parse(await this.#ask(MCP_TOOLS_PATH));
    const tools = new Map<string, Tool>();
    const skipped = listed.unavailable.map((u) => `${u.server}: ${u.error}`);
    for (const granted of listed.tools) {
      const name = mcpToolName(granted.server, granted.tool);
      if (name === undefined || tools.has(name)) {
        skipped.push(`${granted.server}/${granted.tool}: no usable tool name`);
        continue;
      }
      tools.set(name, this.#tool(name, granted));
    }
    const set = { tools: [...tools.values()], skipped };
    if (listed.grantedServers === 0) this.#noGrants = set;
    return set;
  }

  #tool(name: string, granted: McpBrokerTool): Tool {
    const source = `the MCP server "${granted.server}", tool "${granted.tool}"`;
    return {
      name,
      description: granted.description,
      // The server validates its own arguments; the model is shown its schema as given.
      input: z.looseObject({}),
      inputSchema: { ...granted.inputSchema, type: "object" },
      invoke: async (input) => {
        const answer = McpCallAnswer.parse(
          await this.#ask(MCP_CALL_PATH, { server: granted.server, tool: granted.tool, arguments: input }),
        );
        const text = untrustedOutput(source, answer.text);
        if (answer.isError) throw new ToolError(text);
        return { text };
      },
    };
  }

  #ask(path: string, body?: unknown): Promise<unknown> {
    return callBroker(this.#fetch, {
      broker: "MCP broker",
      url: `http://${MCP_BROKER_HOST}${path}`,
      body,
      refusal: McpBrokerError,
    });
  }
}
