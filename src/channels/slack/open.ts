/**
 * The control plane's way in: a configured Slack channel as a ready
 * adapter, its tokens read from the environment variables the
 * configuration names.
 *
 * @module
 */
import type { ChannelConfig, ChannelDeps } from "../kit/mod.ts";
import { SlackAdapter, type SlackAdapterDeps } from "./adapter.ts";
import { resolveSlackSettings } from "./settings.ts";

/** What opening needs: the adapter's parts except what the configuration says. */
export type OpenSlackDeps =
  & ChannelDeps
  & Partial<Pick<SlackAdapterDeps, "retry" | "questionPollMs" | "reconnectDelayMs">>;

/** The adapter of the configured channel `config`; throws `InvalidInputError` naming an unset variable. */
export function openSlackChannel(config: ChannelConfig, deps: OpenSlackDeps): SlackAdapter {
  const settings = resolveSlackSettings(config, deps.env);
  return new SlackAdapter({ ...deps, ...settings });
}
