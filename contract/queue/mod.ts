/**
 * Encrypted per-session queues. Import the side you are:
 * `host.ts` (inbound writer, outbound reader, provisioning) or
 * `sandbox.ts` (inbound reader, outbound writer). This module holds only
 * what both share.
 *
 * @module
 */
export type {
  DueBatch,
  InboundReader,
  InboundWriter,
  InvalidOutboundRow,
  OutboundReader,
  OutboundWriter,
  StatusAck,
} from "./types.ts";
export {
  CORRUPTION_STREAK_LIMIT,
  CorruptionStreak,
  CorruptionStreakError,
  isCorruption,
  isHotJournal,
  SQLITE_READONLY_ROLLBACK,
} from "./corruption.ts";
export { queuePaths } from "./open.ts";
export type { QueueOpenOptions, QueuePaths } from "./open.ts";
export { openReader, openWriter } from "./open.ts";
