/**
 * Channels: the chat platforms messages come from and replies go to. Each
 * implements the delivery's `ChannelAdapter` and feeds the router.
 *
 * @module
 */
export { MAX_DRAIN_WAIT_MS, WEB_CHANNEL, WEB_CHAT_BUFFER, WebChat } from "./web_chat.ts";
export type { WebChatDeps, WebChatItem, WebChatSend, WebChatSent } from "./web_chat.ts";
