/**
 * The channels' kit: the seam a chat platform plugs into ({@link ChannelKind},
 * {@link RunningChannel}) and the parts every channel shares, none tied to
 * a platform or loading one's library: the channel table
 * ({@link ChannelConfigStore}: variable names, never secrets), durable
 * per-channel memory ({@link ChannelStore}: cursor, message refs for
 * threading and sent pieces, where questions were posted), splitting at a
 * limit, the typing indicator, backlog notices, inbound files into
 * workspaces, the `send_file` reply form, the round posting agents' questions and the
 * start-up retry.
 *
 * ```ts
 * import { splitMessage } from "./mod.ts";
 *
 * const pieces = splitMessage("a long reply …", 4000); // each ≤ 4000, cut at a line or a space
 * ```
 *
 * @module
 */
export { checkApiRoot } from "./api_root.ts";
export { AttachmentIntake, DOWNLOAD_TIMEOUT_MS, readResponse } from "./attachments.ts";
export type { Download, Placement } from "./attachments.ts";
export { BACKLOG_NOTICE, BacklogNotices } from "./backlog_notices.ts";
export { channelWebhookPath } from "./channel_kind.ts";
export type {
  ChannelCheck,
  ChannelDeps,
  ChannelKind,
  ChannelSecret,
  RunningChannel,
} from "./channel_kind.ts";
export { ChannelConfigStore, checkEnvName, checkWebhookUrl, EnvName, readSecret } from "./channel_config.ts";
export type { ChannelConfig, ChannelConfigInput, Env } from "./channel_config.ts";
export {
  attachmentLine,
  DEFAULT_MAX_FILE_BYTES,
  formatBytes,
  parseFileReply,
  safeFileName,
  tooLargeReason,
} from "./files.ts";
export type { Attachment, InboundFiles, OutboundDocument, PlacedFile } from "./files.ts";
export { routeMessage } from "./inbound_routing.ts";
export type { Routed, RouteMessageInput } from "./inbound_routing.ts";
export { answerAs, answerFromText, pressedOption, waitingQuestion } from "./question_answers.ts";
export { QuestionPoster } from "./question_poster.ts";
export type { QuestionPosterOptions, QuestionTarget } from "./question_poster.ts";
export { answeredText, choiceId, parseChoiceId, questionText } from "./questions.ts";
export { abortableSleep } from "./sleep.ts";
export { splitMessage } from "./split.ts";
export { Backoff, retryUntilStarted } from "./start_retry.ts";
export type { StartRetryOptions } from "./start_retry.ts";
export { ChannelStore } from "./store.ts";
export type { PlatformMessage } from "./store.ts";
export { TYPING_EVERY_MS, TYPING_MAX_MS, TypingIndicator } from "./typing.ts";
export type { TypingOptions } from "./typing.ts";
export { MAX_NAME_ATTEMPTS, WorkspaceFiles } from "./workspace_files.ts";
export type { WorkspaceFilesOptions } from "./workspace_files.ts";
