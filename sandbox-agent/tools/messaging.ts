/**
 * Messaging tools: `send_message`, `send_file` and `list_destinations`. A
 * target is the current conversation or a destination the host synced into
 * the inbound queue (a channel, or another agent). The host re-checks every
 * destination before delivering.
 *
 * @module
 */
import { z } from "zod";
import { MAX_CONTENT_CHARS } from "../../contract/rows.ts";
import { decodeUtf8 } from "./files.ts";
import { defineTool, type OutboundChat, type Tool, type ToolContext, ToolError } from "./tool.ts";

/** Words that mean "this conversation". */
export const CURRENT_CONVERSATION_ALIASES: readonly string[] = [
  "current",
  "here",
  "thread",
  "current_thread",
  "this",
];

/** The channel type of agent-to-agent messages; the platform id is the target agent group. */
export const AGENT_CHANNEL = "agent";

const To = z.string().trim().default("").describe(
  "a destination name from list_destinations; empty (or 'current') means this conversation",
);

/** Resolves `to` into channel routing; unknown names fail with the known ones listed. */
export function resolveTarget(to: string, ctx: ToolContext): Omit<OutboundChat, "content"> {
  if (to === "" || CURRENT_CONVERSATION_ALIASES.includes(to.toLowerCase())) {
    const routing = ctx.routing();
    if (!routing) throw new ToolError("this conversation has no channel yet; name a destination instead");
    return { channelType: routing.channelType, platformId: routing.platformId, threadId: routing.threadId };
  }
  const destinations = ctx.destinations();
  const match = destinations.find((d) => d.name.toLowerCase() === to.toLowerCase());
  if (match?.type === "agent" && match.agentGroupId) {
    return { channelType: AGENT_CHANNEL, platformId: match.agentGroupId, threadId: null };
  }
  if (match?.type === "channel" && match.channelType && match.platformId) {
    return { channelType: match.channelType, platformId: match.platformId, threadId: null };
  }
  const known = destinations.map((d) => d.name).sort();
  const reason = match
    ? `destination ${match.name} is incomplete`
    : `unknown destination ${JSON.stringify(to)}`;
  throw new ToolError(`${reason}; known destinations: ${known.length > 0 ? known.join(", ") : "(none)"}`);
}

function send(content: string, to: string, ctx: ToolContext) {
  if (content.length > MAX_CONTENT_CHARS) throw new ToolError("the message is too long to send");
  const target = resolveTarget(to, ctx);
  return {
    text: `sent ${new TextEncoder().encode(content).length} bytes to ${to || "this conversation"}`,
    message: { content, ...target },
  };
}

/** `send_message`: a chat message to this conversation or a named destination. */
export const sendMessage: Tool = defineTool({
  name: "send_message",
  description:
    "Send a chat message now, to this conversation (default) or a named destination; your final reply is sent anyway.",
  input: z.strictObject({ text: z.string().min(1), to: To }),
  invoke: ({ text, to }, ctx) => send(text, to, ctx),
});

/** `send_file`: a workspace text file as a chat message. */
export const sendFile: Tool = defineTool({
  name: "send_file",
  description:
    "Send a UTF-8 text file from the workspace (at most 1 MiB) as a message, with an optional caption.",
  input: z.strictObject({ path: z.string(), to: To, caption: z.string().optional() }),
  async invoke({ path, to, caption }, ctx) {
    const text = decodeUtf8(await ctx.workspace.readBytes(path), path);
    const head = [`[file: ${path}]`, ...(caption?.trim() ? [caption.trim()] : [])].join("\n");
    return send(`${head}\n\n${text}`, to, ctx);
  },
});

/** `list_destinations`: where the agent may send. */
export const listDestinations: Tool = defineTool({
  name: "list_destinations",
  description: "List the named destinations you may send to (channels and other agents).",
  input: z.strictObject({}),
  invoke(_input, ctx) {
    const list = ctx.destinations()
      .map((d) => ({
        name: d.name,
        ...(d.displayName ? { display_name: d.displayName } : {}),
        type: d.type,
        channel: d.type === "agent" ? AGENT_CHANNEL : d.channelType,
      }))
      .sort((a, b) => a.name < b.name ? -1 : 1);
    return { text: JSON.stringify(list) };
  },
});
