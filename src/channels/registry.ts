/**
 * The channel registry: every chat platform this build runs, one line each.
 * The control plane opens the configured ones from it; `ironclaw channel`
 * and `ironclaw doctor` read their options and checks from it.
 *
 * @module
 */
import type { ChannelKind } from "./kit/mod.ts";
import { discordChannel } from "./discord/mod.ts";
import { slackChannel } from "./slack/mod.ts";
import { telegramChannel } from "./telegram/mod.ts";

/** The registered channel kinds, by type. */
export const CHANNEL_KINDS: readonly ChannelKind[] = [
  discordChannel,
  slackChannel,
  telegramChannel,
];

/** The kind of channel type `type`, if this build runs it. */
export function channelKind(type: string): ChannelKind | undefined {
  return CHANNEL_KINDS.find((k) => k.type === type);
}
