/**
 * Logging for the control plane, with secret redaction.
 *
 * @module
 */
export { configureLogging, logger, redactingSink } from "./logging.ts";
export type { LogFormat } from "./logging.ts";
export { isSecretKey, redact, REDACTED } from "./redact.ts";
