/**
 * Structured logging on LogTape: text for people, JSON lines for machines,
 * secrets redacted from every record's properties before any sink sees them.
 *
 * @module
 */
import {
  configure,
  getConsoleSink,
  getJsonLinesFormatter,
  getLogger,
  getTextFormatter,
  type Logger,
  type LogRecord,
  reset,
  type Sink,
} from "@logtape/logtape";
import { isSecretKey, redact, REDACTED } from "./redact.ts";

/** Output format. */
export type LogFormat = "text" | "json";

/**
 * Wraps a sink so it only ever sees redacted records: secret-named properties,
 * and the values a message template interpolates from them.
 */
export function redactingSink(sink: Sink): Sink {
  return (record: LogRecord) => {
    const names = typeof record.rawMessage === "string"
      ? [...record.rawMessage.matchAll(/\{([^{}]+)\}/g)].map((m) => m[1].trim())
      : [];
    const message = record.message.map((part, i) =>
      i % 2 === 1 ? (isSecretKey(names[(i - 1) / 2] ?? "") ? REDACTED : redact(part)) : part
    );
    sink({ ...record, message, properties: redact(record.properties) as Record<string, unknown> });
  };
}

/** Configures the process's logging (idempotent: a later call replaces the earlier one). */
export async function configureLogging(
  options: { format?: LogFormat; level?: "debug" | "info" | "warning" | "error"; sink?: Sink } = {},
): Promise<void> {
  await reset();
  const formatter = options.format === "json"
    ? getJsonLinesFormatter()
    : getTextFormatter({ timestamp: "date-time" });
  const console = options.sink ?? getConsoleSink({ formatter });
  await configure({
    reset: true,
    sinks: { main: redactingSink(console) },
    loggers: [
      { category: ["ironclaw"], sinks: ["main"], lowestLevel: options.level ?? "info" },
      { category: ["logtape", "meta"], sinks: ["main"], lowestLevel: "warning" },
    ],
  });
}

/** A logger under the `ironclaw` category. */
export function logger(...category: string[]): Logger {
  return getLogger(["ironclaw", ...category]);
}
