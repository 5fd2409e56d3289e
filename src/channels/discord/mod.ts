/**
 * The Discord channel, on the official libraries (`@discordjs/core` over
 * `@discordjs/rest` and `@discordjs/ws`): the Gateway WebSocket with
 * minimal intents, DMs and guild channels, mention engagement, replies in
 * threads, files both ways, questions as buttons, typing, rate-limit
 * buckets honoured, the token held host-side and scrubbed from every error
 * and log line.
 *
 * This face loads no Discord library; the running channel is the folder's
 * second face, `runtime.ts`, imported on demand.
 *
 * @module
 */
export {
  DISALLOWED_INTENTS_CLOSE,
  DISCORD_INTENTS,
  INTENT_DIRECT_MESSAGES,
  INTENT_GUILD_MESSAGES,
  INTENT_MESSAGE_CONTENT,
  MESSAGE_CONTENT_FIX,
} from "./intents.ts";
export { DISCORD_CHANNEL, DISCORD_TEXT_LIMIT, parseMessage, readableMentions } from "./inbound.ts";
export type { BotIdentity, GatewayMessage, ParsedMessage, Place, SkipReason } from "./inbound.ts";
export { API_ROOT_ENV, DISCORD_API_ROOT } from "./api_root.ts";
export { discordChannel } from "./kind.ts";
export { CUSTOM_ID_LIMIT, encodeAnswer, questionComponents } from "./questions.ts";
