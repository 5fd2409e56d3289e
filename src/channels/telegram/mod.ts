/**
 * The Telegram channel, on grammY: long polling (or a webhook handler),
 * private chats and groups, mentions, threaded and split replies, typing,
 * files both ways, questions as inline buttons, `retry_after` honoured, the
 * token held host-side and scrubbed from every error and log line.
 *
 * This face holds what needs no grammY (channel settings, constants, parsing,
 * the workspace file placer), so the CLI and the plane load it at once; the
 * grammY-backed running channel is the folder's second face, `runtime.ts`,
 * imported on demand (`await import(".../telegram/runtime.ts")`).
 *
 * ```ts
 * import { ControlPlane } from "../../control_plane/mod.ts";
 * import { openTelegramChannel } from "./runtime.ts";
 *
 * const stateDir = await Deno.makeTempDir();
 * const plane = await ControlPlane.open({ stateDir, dev: true, background: false });
 * const { state, registry, router, desk } = plane;
 * const files = new WorkspaceFiles({ root: `${stateDir}/sandbox` }); // inbound files into session workspaces
 * const telegram = openTelegramChannel({ state, registry, router, desk, files });
 * if (telegram) {
 *   plane.adapters.add(telegram);
 *   await telegram.start();
 * }
 * // webhook mode: app.post("/telegram/webhook", (c) => handler(c.req.raw)) with handler = telegram.webhookHandler()
 * await plane.close();
 * await Deno.remove(stateDir, { recursive: true });
 * ```
 *
 * @module
 */
export type { HandledUpdate, TelegramAdapter, TelegramAdapterDeps } from "./adapter.ts";
export { API_ROOT_ENV, checkApiRoot, isBotToken, TELEGRAM_API_ROOT } from "./api_root.ts";
export {
  CHANNEL_TYPES,
  ChannelConfigStore,
  checkWebhookUrl,
  EnvName,
  resolveTelegramSettings,
} from "./channel_config.ts";
export type { ChannelConfig, ChannelConfigInput, ChannelKind, TelegramSettings } from "./channel_config.ts";
export type { TelegramCheck, TelegramCheckInput } from "./doctor.ts";
export { DEFAULT_MAX_FILE_BYTES, parseFileReply, safeFileName } from "./files.ts";
export type { InboundFiles, PlacedFile } from "./files.ts";
export { WorkspaceFiles } from "./workspace_files.ts";
export type { WorkspaceFilesOptions } from "./workspace_files.ts";
export { mentionsBot, parseMessage, TELEGRAM_CHANNEL } from "./inbound.ts";
export type { BotIdentity, ParsedMessage } from "./inbound.ts";
export type { OpenTelegramDeps } from "./open.ts";
export { CALLBACK_DATA_LIMIT, decodeAnswer, encodeAnswer } from "./questions.ts";
export type { RetryInfo, RetryOptions } from "./retry.ts";
export { splitMessage, TELEGRAM_TEXT_LIMIT } from "./split.ts";
export { ChannelStore } from "./store.ts";
