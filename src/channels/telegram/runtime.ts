/**
 * The running Telegram channel, on grammY: the folder's second face (the
 * first, `mod.ts`, needs no grammY). Import it on demand, so that the CLI
 * and a plane without Telegram never load grammY.
 *
 * @module
 */
export { ALLOWED_UPDATES, MAX_UPDATE_ATTEMPTS, TelegramAdapter } from "./adapter.ts";
export { BACKLOG_NOTICE } from "../kit/mod.ts";
export { createBot } from "./api.ts";
export { checkTelegramToken } from "./doctor.ts";
export { openTelegramChannel } from "./open.ts";
export { retryAfter } from "./retry.ts";
export { describeTelegramError, scrubToken, TelegramApiError } from "./secrets.ts";
