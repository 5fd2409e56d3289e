/**
 * The gateway intents the channel asks for, and no others. Each intent is a
 * stream of events Discord pushes to the bot; fewer intents, less of a
 * server's traffic on this host.
 *
 * - `GUILD_MESSAGES` (1 << 9): messages in the guild channels (and threads)
 *   the bot can see; how a member reaches it in a server.
 * - `DIRECT_MESSAGES` (1 << 12): messages in DMs with the bot.
 * - `MESSAGE_CONTENT` (1 << 15), **privileged**: without it Discord blanks
 *   the text of guild messages that do not mention the bot. A mention still
 *   arrives whole, but a reply inside the bot's thread, a wiring's engage
 *   pattern, and messages accumulated as context all need the text. Enable
 *   it in the Developer Portal (your application → Bot → Privileged Gateway
 *   Intents → Message Content Intent); a bot in 100 or more servers needs
 *   Discord's review for it. Asked for without being enabled, Discord
 *   closes the gateway with 4014 ("Disallowed intent(s)"), which the
 *   channel reports with that fix.
 *
 * Not asked for: `GUILDS` (the bot learns a thread's parent by one REST call
 * instead of receiving every channel and role of every server),
 * `GUILD_MEMBERS` and `GUILD_PRESENCES` (privileged, not needed), reactions,
 * voice, typing. Button presses (interactions) need no intent.
 *
 * @module
 */

/** GUILD_MESSAGES: messages in guild channels and threads. */
export const INTENT_GUILD_MESSAGES = 1 << 9;
/** DIRECT_MESSAGES: messages in DMs. */
export const INTENT_DIRECT_MESSAGES = 1 << 12;
/** MESSAGE_CONTENT (privileged): the text of guild messages that do not mention the bot. */
export const INTENT_MESSAGE_CONTENT = 1 << 15;

/** Every intent the channel identifies with. */
export const DISCORD_INTENTS = INTENT_GUILD_MESSAGES | INTENT_DIRECT_MESSAGES | INTENT_MESSAGE_CONTENT;

/** The gateway's close code for a privileged intent the application has not enabled. */
export const DISALLOWED_INTENTS_CLOSE = 4014;

/** What to do about {@link DISALLOWED_INTENTS_CLOSE}, in one line. */
export const MESSAGE_CONTENT_FIX =
  "enable the Message Content Intent in the Discord Developer Portal (your application → Bot → Privileged Gateway Intents), then restart";
