/**
 * The web chat channel (`web`): the console's conversation with an agent.
 * {@link WebChat.send} feeds a message through the router like any channel
 * message, from `web:<handle>`; delivery hands the agent's replies to
 * {@link WebChat.deliver}, which buffers them per conversation until the
 * console drains them.
 *
 * The buffer lives in memory: replies not drained before a restart are lost
 * (they are marked delivered all the same, so none is sent twice).
 *
 * @module
 */
import type { AgentGroupId } from "../../contract/ids.ts";
import type { Timestamp } from "../../contract/time.ts";
import type { ChannelAdapter, ChannelMessage } from "../delivery/adapter.ts";
import type { Registry } from "../registry/registry.ts";
import type { Router, RouteResult } from "../router/router.ts";
import { stableId } from "../scheduling/idempotent.ts";
import { NotFoundError } from "../state/errors.ts";

/** The channel type of the web chat. */
export const WEB_CHANNEL = "web";

/** Replies kept per conversation; older ones are dropped first. */
export const WEB_CHAT_BUFFER = 200;

/** One reply waiting for the console. */
export interface WebChatItem {
  id: string;
  conversationId: string;
  threadId: string | null;
  content: string;
  timestamp: Timestamp;
}

/** A message from the console. */
export interface WebChatSend {
  agentGroupId: string;
  text: string;
  /** Who is typing, as a handle on the `web` channel (default `console`). */
  senderHandle?: string;
  /** Which conversation with the agent (default: the agent group id, one conversation per agent). */
  conversationId?: string;
}

/** What a send did. */
export interface WebChatSent {
  conversationId: string;
  /** True when some wiring engaged the agent. */
  engaged: boolean;
  outcomes: RouteResult["outcomes"];
}

/** What the web chat is built from. */
export interface WebChatDeps {
  registry: Registry;
  router: Pick<Router, "route">;
  /** Replies kept per conversation (default {@link WEB_CHAT_BUFFER}). */
  capacity?: number;
}

/** The web chat: router input, adapter output, per-conversation reply buffers. */
export class WebChat implements ChannelAdapter {
  readonly name = WEB_CHANNEL;
  #d: WebChatDeps;
  #buffers = new Map<string, WebChatItem[]>();

  constructor(deps: WebChatDeps) {
    this.#d = deps;
  }

  /**
   * Opens the conversation when new: its chat (channel `web`, strict
   * unknown-sender policy) and a wiring to the agent that engages on every
   * message (mention mode; every console message is a mention). An existing
   * wiring is left as the operator configured it. Throws `NotFoundError` for
   * an unknown agent.
   */
  async ensureConversation(agentGroupId: string, conversationId = agentGroupId): Promise<string> {
    const { registry } = this.#d;
    if (!registry.hasAgentGroup(agentGroupId)) throw new NotFoundError("agent group", agentGroupId);
    const chat = registry.getOrCreateMessagingGroup({
      channelType: WEB_CHANNEL,
      platformId: conversationId,
      instance: WEB_CHANNEL,
    });
    const wiringId = await stableId("wr_web", agentGroupId, conversationId);
    try {
      registry.getWiring(wiringId);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      registry.putWiring({
        id: wiringId,
        messagingGroupId: chat.id,
        agentGroupId: agentGroupId as AgentGroupId,
        engageMode: "mention",
        senderScope: "known",
        sessionMode: "shared",
        priority: 1,
      });
    }
    return conversationId;
  }

  /** Sends a console message through the router (as a mention). */
  async send(input: WebChatSend): Promise<WebChatSent> {
    const conversationId = await this.ensureConversation(input.agentGroupId, input.conversationId);
    const result = await this.#d.router.route({
      channelType: WEB_CHANNEL,
      platformId: conversationId,
      instance: WEB_CHANNEL,
      senderHandle: input.senderHandle ?? "console",
      text: input.text,
      mentioned: true,
    });
    return { conversationId, engaged: result.outcomes.some((o) => o.engaged), outcomes: result.outcomes };
  }

  /** Buffers a reply for its conversation (the adapter side). */
  deliver(message: ChannelMessage): Promise<string | null> {
    const buffer = this.#buffers.get(message.platformId) ?? [];
    buffer.push({
      id: message.id,
      conversationId: message.platformId,
      threadId: message.threadId,
      content: message.content,
      timestamp: message.timestamp,
    });
    const capacity = this.#d.capacity ?? WEB_CHAT_BUFFER;
    if (buffer.length > capacity) buffer.splice(0, buffer.length - capacity);
    this.#buffers.set(message.platformId, buffer);
    return Promise.resolve(message.id);
  }

  /** The conversation's waiting replies, oldest first; each is returned once. */
  drain(conversationId: string): WebChatItem[] {
    const items = this.#buffers.get(conversationId) ?? [];
    this.#buffers.delete(conversationId);
    return items;
  }
}
