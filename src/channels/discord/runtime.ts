/**
 * The running Discord channel, on `@discordjs/core`, `@discordjs/rest` and
 * `@discordjs/ws`: the folder's second face (the first, `mod.ts`, loads no
 * Discord library). Import it on demand, so that the CLI and a plane
 * without Discord never load them.
 *
 * @module
 */
export { DiscordAdapter } from "./adapter.ts";
export type { DiscordAdapterDeps, HandledEvent } from "./adapter.ts";
export { DiscordChannelError, MAX_RATE_LIMIT_WAIT_MS, scrubSecrets } from "./client.ts";
export { MAX_EVENT_ATTEMPTS } from "./gateway_intake.ts";
export { checkDiscordToken } from "./doctor.ts";
export type { DiscordCheckInput } from "./doctor.ts";
export { openDiscordChannel } from "./open.ts";
