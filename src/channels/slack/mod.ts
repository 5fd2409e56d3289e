/**
 * The Slack channel, on the official libraries (`@slack/web-api`,
 * `@slack/socket-mode`): Socket Mode by default (no public URL), the Events
 * API over HTTP with the signing secret checked as an option; direct
 * messages and channels, `@mention` engagement, replies in threads, files
 * both ways, questions as Block Kit buttons, `Retry-After` honoured, the
 * tokens held host-side and scrubbed from every error and log line.
 *
 * This face loads no Slack library (the registry entry
 * {@link slackChannel}, settings, parsing, signatures, question blocks);
 * the running channel is the folder's second face, `runtime.ts`, which the
 * registry entry's `open` and `doctor` import on demand.
 *
 * ```ts
 * import { ControlPlane } from "../../control_plane/mod.ts";
 * import { ChannelConfigStore } from "../kit/mod.ts";
 *
 * const stateDir = await Deno.makeTempDir();
 * const plane = await ControlPlane.open({ stateDir, dev: true, background: false });
 * const { state, registry, router, desk } = plane;
 * const config = new ChannelConfigStore(state).find("slack"); // `ironclaw channel add slack …`
 * if (config) {
 *   const slack = await slackChannel.open(config, { state, registry, router, desk });
 *   plane.adapters.add(slack);
 *   await slack.start();
 * }
 * await plane.close();
 * await Deno.remove(stateDir, { recursive: true });
 * ```
 *
 * @module
 */
export { isDirectConversation, mentionsBot, parseSlackMessage, SLACK_CHANNEL } from "./inbound.ts";
export type { ParsedSlackMessage, SlackIdentity, SlackSkipReason } from "./inbound.ts";
export { slackChannel } from "./kind.ts";
export { ACTION_ID_LIMIT, encodeAction, questionBlocks } from "./questions.ts";
export { checkSlackConfig, resolveSlackSettings, SLACK_API_ROOT, SLACK_API_ROOT_ENV } from "./settings.ts";
export type { SlackSettings } from "./settings.ts";
export { checkSlackSignature, SIGNATURE_WINDOW_SECONDS, slackSignature } from "./signature.ts";
