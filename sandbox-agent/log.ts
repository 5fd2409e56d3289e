/**
 * The agent's log: one JSON object per line on stderr. Callers pass ids,
 * counts, byte sizes and error kinds, never message content.
 *
 * @module
 */

/** Values a log line may carry. */
export type LogValue = string | number | boolean | readonly string[] | undefined;

/** Structured fields of one line. */
export type LogFields = Record<string, LogValue>;

/** Where the agent reports what it does. */
export interface Logger {
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

/** A logger writing JSON lines through `write`. */
export function jsonLogger(write: (line: string) => void): Logger {
  const line = (level: string) => (event: string, fields: LogFields = {}) =>
    write(JSON.stringify({ time: new Date().toISOString(), level, event, ...fields }));
  return { info: line("info"), warn: line("warn"), error: line("error") };
}
