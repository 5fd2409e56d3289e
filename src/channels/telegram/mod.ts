/**
 * The Telegram channel, on grammY: long polling (or a webhook handler),
 * private chats and groups, mentions, threaded and split replies, typing,
 * files both ways, questions as inline buttons, `retry_after` honoured, the
 * token held host-side and scrubbed from every error and log line.
 *
 * This face holds what needs no grammY (the registry entry
 * {@link telegramChannel}, settings, constants, parsing), so the CLI and the
 * plane load it at once; the grammY-backed running channel is the folder's
 * second face, `runtime.ts`, imported on demand (the registry entry's `open`
 * and `doctor` do so).
 *
 * ```ts
 * import { ControlPlane } from "../../control_plane/mod.ts";
 * import { ChannelConfigStore } from "../kit/mod.ts";
 *
 * const stateDir = await Deno.makeTempDir();
 * const plane = await ControlPlane.open({ stateDir, dev: true, background: false });
 * const { state, registry, router, desk } = plane;
 * const config = new ChannelConfigStore(state).find("telegram");
 * if (config) {
 *   const telegram = await telegramChannel.open(config, { state, registry, router, desk });
 *   plane.adapters.add(telegram);
 *   await telegram.start();
 * }
 * await plane.close();
 * await Deno.remove(stateDir, { recursive: true });
 * ```
 *
 * @module
 */
export type { HandledUpdate, TelegramAdapter, TelegramAdapterDeps } from "./adapter.ts";
export { API_ROOT_ENV, checkApiRoot, isBotToken, TELEGRAM_API_ROOT } from "./api_root.ts";
export type { TelegramCheckInput } from "./doctor.ts";
export { mentionsBot, parseMessage, TELEGRAM_CHANNEL } from "./inbound.ts";
export type { BotIdentity, ParsedMessage } from "./inbound.ts";
export { telegramChannel } from "./kind.ts";
export { TELEGRAM_CAPTION_LIMIT, TELEGRAM_TEXT_LIMIT } from "./limits.ts";
export type { OpenTelegramDeps } from "./open.ts";
export { CALLBACK_DATA_LIMIT, encodeAnswer } from "./questions.ts";
export type { RetryInfo, RetryOptions } from "./retry.ts";
export { resolveTelegramSettings } from "./settings.ts";
export type { TelegramSettings } from "./settings.ts";
