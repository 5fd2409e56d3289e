/**
 * Imports the Telegram channel and builds a bot, as the host would, then
 * prints `ok`. Run under the host's permission flags by `lifecycle_test.ts`.
 */
import { TELEGRAM_CHANNEL } from "../../../src/channels/telegram/mod.ts";
import { createBot } from "../../../src/channels/telegram/runtime.ts";

const bot = createBot({ token: "123:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", apiRoot: "http://127.0.0.1:9" });
console.log(bot.isInited() ? "inited?" : `ok ${TELEGRAM_CHANNEL}`);
