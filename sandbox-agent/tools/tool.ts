/**
 * What a tool is: a name, a description and a zod input schema (which is
 * also the JSON Schema the model sees), and an `invoke` that returns text
 * for the model plus, optionally, an effect for the loop to carry out. Tools
 * never write the queues themselves: a system action or a chat message is
 * data the loop writes, and the host decides what happens to it.
 *
 * @module
 */
import type { z } from "zod";
import type { Destination, SessionRouting } from "../../contract/rows.ts";
import type { Jail } from "./jail.ts";
import type { Mounts } from "./mounts.ts";

/** A chat message a tool wants sent now (channel routing already resolved). */
export interface OutboundChat {
  content: string;
  channelType: string;
  platformId: string;
  threadId: string | null;
}

/** A tool's result. */
export interface ToolOutput {
  /** What the model sees. */
  text: string;
  /** A system-action body for the host; the loop writes it once the turn succeeds. */
  action?: string;
  /** A chat message the loop writes at once. */
  message?: OutboundChat;
}

/** What tools may look at. */
export interface ToolContext {
  /** The session workspace. */
  workspace: Jail;
  /** The agent's durable memory, shared by its sessions. */
  memory: Jail;
  /** The agent group's approved mounts at `/mounts/<name>` (absent: none). */
  mounts?: Mounts;
  /** The persona text the agent was launched with ("" for none). */
  persona: string;
  /** Where the agent may send, as the host last synced it. */
  destinations(): Destination[];
  /** The conversation's own channel, once the host has set it. */
  routing(): SessionRouting | undefined;
  /** A `fetch` to the host's egress broker (absent: the web tools answer that there is none). */
  egress?: typeof fetch;
}

/** A tool. */
export interface Tool {
  readonly name: string;
  readonly description: string;
  readonly input: z.ZodType;
  /** The JSON Schema the model sees, when it is not `input`'s (an MCP tool: its server's own). */
  readonly inputSchema?: Record<string, unknown>;
  invoke(input: unknown, ctx: ToolContext): Promise<ToolOutput>;
}

export { ToolError } from "./tool_error.ts";

/** Declares a tool whose `invoke` receives the parsed input. */
export function defineTool<S extends z.ZodType>(def: {
  name: string;
  description: string;
  input: S;
  invoke(input: z.output<S>, ctx: ToolContext): ToolOutput | Promise<ToolOutput>;
}): Tool {
  return {
    name: def.name,
    description: def.description,
    input: def.input,
    invoke: async (input, ctx) => await def.invoke(input as z.output<S>, ctx),
  };
}
