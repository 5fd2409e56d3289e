/**
 * Timestamps and recurrences. Every stored timestamp is UTC ISO-8601 with
 * exactly three fractional digits (`Date.toISOString()`), so string order is
 * time order and SQL can compare them directly.
 *
 * @module
 */
import { z } from "zod";

/** The stored form: `YYYY-MM-DDTHH:MM:SS.sssZ`. */
export const Timestamp = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/, {
  message: "timestamp must be UTC ISO-8601 with milliseconds (YYYY-MM-DDTHH:MM:SS.sssZ)",
});
export type Timestamp = z.infer<typeof Timestamp>;

/** Now, in the stored form. */
export function nowTimestamp(): Timestamp {
  return new Date().toISOString();
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Parses an RFC 3339 time (any offset) into the stored UTC form; undefined
 * when malformed or out of range.
 */
export function normalizeRfc3339(text: string): Timestamp | undefined {
  const m = RFC3339.exec(text.trim());
  if (!m) return undefined;
  const [, , mo, d, h, mi, s] = m.map(Number);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return undefined;
  const ms = Date.parse(text.trim().replace(/(\.\d{3})\d+/, "$1"));
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

const DURATION = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;
const NAMED_MS: Record<string, number> = { hourly: 3_600_000, daily: 86_400_000, weekly: 604_800_000 };

/** The interval of a recurrence (`hourly`, `daily`, `weekly`, or `1h30m`-style), or undefined. */
export function recurrenceMs(recurrence: string): number | undefined {
  if (recurrence in NAMED_MS) return NAMED_MS[recurrence];
  const m = DURATION.exec(recurrence);
  if (!m || recurrence === "") return undefined;
  const ms = (Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0)) * 1000;
  return ms > 0 ? ms : undefined;
}

/** A valid recurrence: empty (none), a named one, or a positive duration. */
export const Recurrence = z.string().refine((r) => r === "" || recurrenceMs(r) !== undefined, {
  message: "recurrence must be empty, hourly, daily, weekly, or a positive duration like 15m or 2h",
});

/** The next run after `previous` for a recurrence, or undefined for none. */
export function nextRun(previous: Timestamp, recurrence: string): Timestamp | undefined {
  const ms = recurrenceMs(recurrence);
  return ms === undefined ? undefined : new Date(Date.parse(previous) + ms).toISOString();
}
