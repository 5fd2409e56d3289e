/**
 * Settings both SDK clients share.
 *
 * @module
 */

/**
 * The SDKs refuse to run without a key. The agent holds none: the host's
 * proxy strips whatever arrives and injects the real credential.
 */
export const PLACEHOLDER_API_KEY = "ironclaw-proxy-injects-credentials";

/**
 * No SDK retries (the loop's backoff is the one retry policy), a 5-minute
 * request timeout (an explicit timeout also skips the Anthropic SDK's
 * non-streaming size guess), and no SDK logging (it could print content).
 */
export const SDK_OPTIONS = { maxRetries: 0, timeout: 5 * 60_000, logLevel: "off" } as const;

/** Output token budget of one model turn. */
export const DEFAULT_MAX_TOKENS = 16_000;
