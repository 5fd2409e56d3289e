/**
 * The agent loop and its parts: state, history, prompts, slash commands,
 * backoff, heartbeat, doorbell and the queue lease.
 *
 * @module
 */
export { AgentLoop, MAX_MODEL_TURNS } from "./loop.ts";
export type { LoopOptions, PollOutcome } from "./loop.ts";
export { backoffDelay, ModelBreaker } from "./backoff.ts";
export type { BreakerOptions } from "./backoff.ts";
export { Doorbell } from "./doorbell.ts";
export type { DoorbellOptions } from "./doorbell.ts";
export { Heartbeat } from "./heartbeat.ts";
export {
  type LeaseBell,
  LeaseClient,
  type LeaseClientOptions,
  leased,
  type QueueLease,
  type ReleaseNote,
  unleased,
} from "./lease.ts";
export * from "./history.ts";
export { BASE_SYSTEM_PROMPT, formatPrompt, systemPrompt } from "./prompt.ts";
export { isSlashCommand, runSlashCommand, SLASH_COMMANDS } from "./slash.ts";
export { type LoopState, STATE_KEYS, StateStore } from "./state.ts";
