/**
 * Where the CLI writes, and how it presents results: aligned tables for
 * people, JSON for machines, ages as `12s`/`3m`/`5h`/`2d`.
 *
 * @module
 */

/** The CLI's streams, injectable so commands can be tested in-process. */
export interface CliIo {
  /** Writes one line (a trailing newline is added) to standard output. */
  out(line: string): void;
  /** Writes one line to standard error. */
  err(line: string): void;
  /** Whether standard input is a terminal (interactive prompts are allowed). */
  readonly interactive: boolean;
}

const encoder = new TextEncoder();

/** C0 controls other than tab and newline, DEL, and C1 controls (CSI is U+009B, OSC U+009D). */
const TERMINAL_CONTROL = /(?![\t\n])\p{Cc}/gu;

/**
 * `text` with every control character a terminal would act on shown as a
 * `\u00XX` escape, tab and newline kept. Agent text reaches the operator's
 * terminal in replies, questions, personas and audit details: raw, an ESC/OSC
 * sequence could clear the screen, forge a status line or write the clipboard
 * (OSC 52), and a bare CR could overwrite a line. The escape is also JSON's
 * own, so `--json` output stays valid JSON for the same string.
 *
 * @example
 * ```ts
 * terminalSafe("hi\x1b]52;c;cHduZWQ=\x07"); // "hi\\u001b]52;c;cHduZWQ=\\u0007"
 * ```
 */
export function terminalSafe(text: string): string {
  return text.replace(TERMINAL_CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** The process's real streams; every line passes {@linkcode terminalSafe}. */
export function processIo(): CliIo {
  return {
    out: (line) => writeAll(Deno.stdout, `${terminalSafe(line)}\n`),
    err: (line) => writeAll(Deno.stderr, `${terminalSafe(line)}\n`),
    interactive: Deno.stdin.isTerminal(),
  };
}

function writeAll(stream: { writeSync(p: Uint8Array): number }, text: string): void {
  let bytes = encoder.encode(text);
  while (bytes.length) bytes = bytes.subarray(stream.writeSync(bytes));
}

/** Captured streams for tests: every line written, in order. */
export interface CapturedIo extends CliIo {
  readonly stdout: string[];
  readonly stderr: string[];
}

/** An in-memory {@linkcode CliIo} that records exactly what {@linkcode processIo} would print. */
export function captureIo(interactive = false): CapturedIo {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    interactive,
    out: (line) => stdout.push(...terminalSafe(line).split("\n")),
    err: (line) => stderr.push(...terminalSafe(line).split("\n")),
  };
}

/** One column of a table: its header and how to read a cell from a row. */
export interface Column<T> {
  header: string;
  cell: (row: T) => string | number | boolean | null | undefined;
}

/** What an empty cell shows. */
export const EMPTY_CELL = "—";

/**
 * Renders rows as a space-aligned table with a header line. Empty cells show
 * {@linkcode EMPTY_CELL}; line breaks inside a cell are flattened to spaces.
 */
export function renderTable<T>(columns: readonly Column<T>[], rows: readonly T[]): string[] {
  const cells = rows.map((row) => columns.map((c) => cellText(c.cell(row))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i].length)));
  const line = (values: string[]) =>
    values.map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i]))).join("  ").trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)];
}

function cellText(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined || value === "") return EMPTY_CELL;
  return String(value).replace(/\s*[\r\n]+\s*/g, " ");
}

/** Prints `value` as indented JSON (`--json`). */
export function printJson(io: CliIo, value: unknown): void {
  io.out(JSON.stringify(value, null, 2));
}

/**
 * Prints a listing: JSON when `json` is set, else a table, or `empty` when
 * there are no rows.
 */
export function printListing<T>(
  io: CliIo,
  options: { json?: boolean },
  rows: readonly T[],
  columns: readonly Column<T>[],
  empty: string,
): void {
  if (options.json) return printJson(io, rows);
  if (rows.length === 0) return io.out(empty);
  for (const line of renderTable(columns, rows)) io.out(line);
}

/** How long ago `iso` was, coarsely: `42s`, `7m`, `3h`, `12d` (`—` when unparsable). */
export function formatAge(iso: string | undefined, now: number = Date.now()): string {
  const then = iso === undefined ? NaN : Date.parse(iso);
  if (Number.isNaN(then)) return EMPTY_CELL;
  const seconds = Math.max(0, Math.floor((now - then) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

/** Splits a comma-separated flag value into trimmed, non-empty items. */
export function splitList(value: string): string[] {
  return value.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
}
