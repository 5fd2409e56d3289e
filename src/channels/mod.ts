/**
 * Channels: the chat platforms messages come from and replies go to. Each
 * implements the delivery's `ChannelAdapter` and feeds the router.
 *
 * ## A channel is one folder
 *
 * A platform is `src/channels/<name>/` plus one line in `registry.ts`
 * ({@link CHANNEL_KINDS}). The folder's face `mod.ts` exports a
 * {@link ChannelKind} and loads no platform library; the library-backed
 * adapter sits behind a second face, `runtime.ts`, which the kind's `open`
 * and `doctor` import on demand (`tests/seam_test.ts` allows it). With that
 * line, `ironclaw channel add|list|remove <name>` (its secret options, API
 * root, webhook option), `ironclaw doctor` (the kind's `doctor`), the
 * control plane's start and stop (the kind's `open`, then `start`/`stop`)
 * and the webhook route `POST /v1/channels/<name>/webhook` (outside bearer
 * auth, only while `mode` is `webhook`) all work with nothing else edited.
 *
 * What the running channel ({@link RunningChannel}) owes, with the kit part
 * (`./kit/mod.ts`) each one uses; Telegram (`./telegram/`) is the worked
 * example, one file per part (Discord, `./discord/`, and Slack, `./slack/`,
 * are the same shape):
 * - **ingest**: events → `router.route({ channelType, platformId, threadId,
 *   sender: "<name>:<user id>", content, mentioned, isDirect, … })`, each
 *   platform event handled once (a durable cursor in {@link ChannelStore},
 *   or the platform's own ack/redelivery); `mentioned` is set when the bot
 *   is @-mentioned, which is what engages it in a shared channel. The kit's
 *   `routeMessage` routes one message with its file and records it.
 * - **sender policy**: the router's (a stranger under `strict` is dropped);
 *   a channel fetches nothing for a message the router did not write.
 * - **send**: `deliver` threads onto the message answered (refs in
 *   {@link ChannelStore}), cuts at the platform's limit with
 *   {@link splitMessage}, records each piece so a retry sends only what is
 *   missing; a throw means "try again", null means "dropped for good".
 * - **typing/working**: {@link TypingIndicator} from an engaging message
 *   until the reply.
 * - **files**: inbound attachments fetched with the bot's credentials and
 *   placed by {@link InboundFiles} (the plane passes a {@link WorkspaceFiles})
 *   before the session wakes, named with {@link attachmentLine}; outbound
 *   `send_file` replies read with {@link parseFileReply}, plus `sendFile`.
 * - **questions**: the desk's pending questions of the channel's
 *   conversations posted once (durably, {@link ChannelStore}) as native
 *   buttons (text as `questionText`); a press answers through the desk
 *   with `answerAs`, only by someone who may reach the agent (a text reply:
 *   `answerFromText`).
 * - **back-pressure**: a `SessionBacklogFullError` from the router is a final
 *   answer, consumed at once, the chat told once per episode
 *   ({@link BacklogNotices}).
 * - **rate limits**: the platform's `Retry-After` waited out (bounded), a
 *   longer one handed back so delivery retries later.
 * - **secrets**: read from the variables the configuration names
 *   ({@link readSecret}), held in the adapter, scrubbed from every error and
 *   log line.
 *
 * @module
 */
export { MAX_DRAIN_WAIT_MS, WEB_CHANNEL, WEB_CHAT_BUFFER, WebChat } from "./web_chat.ts";
export type { WebChatDeps, WebChatItem, WebChatSend, WebChatSent } from "./web_chat.ts";
export { CHANNEL_KINDS, channelKind } from "./registry.ts";
export {
  attachmentLine,
  BacklogNotices,
  ChannelConfigStore,
  ChannelStore,
  channelWebhookPath,
  checkApiRoot,
  parseFileReply,
  readSecret,
  splitMessage,
  TypingIndicator,
  WorkspaceFiles,
} from "./kit/mod.ts";
export type {
  ChannelCheck,
  ChannelConfig,
  ChannelConfigInput,
  ChannelDeps,
  ChannelKind,
  ChannelSecret,
  Env,
  InboundFiles,
  PlacedFile,
  RunningChannel,
  WorkspaceFilesOptions,
} from "./kit/mod.ts";
