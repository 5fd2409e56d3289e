/**
 * The running Slack channel, on the official Slack libraries: the folder's
 * second face (the first, `mod.ts`, loads none of them). Import it on
 * demand, so that the CLI and a plane without Slack never load them.
 *
 * @module
 */
export { SLACK_TEXT_LIMIT, SlackAdapter, WORKING_REACTION } from "./adapter.ts";
export type { HandledEvent, SlackAdapterDeps } from "./adapter.ts";
export { checkSlackTokens } from "./doctor.ts";
export { openSlackChannel } from "./open.ts";
export type { OpenSlackDeps } from "./open.ts";
export { scrubSlack, SlackApiError, SlackWeb } from "./web.ts";
