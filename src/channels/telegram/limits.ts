/**
 * Telegram's message limits, in UTF-16 code units like JavaScript strings.
 *
 * @module
 */

/** Longest text of one Telegram message. */
export const TELEGRAM_TEXT_LIMIT = 4096;

/** Longest caption of a Telegram document. */
export const TELEGRAM_CAPTION_LIMIT = 1024;
