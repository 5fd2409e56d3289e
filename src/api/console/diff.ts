/**
 * A line diff of a change's `before` and `after`, so an approver reads what
 * changes rather than two JSON blobs. Values are pretty-printed with sorted
 * keys (the gateway stores them canonical), multi-line strings split into
 * their lines, then compared by longest common subsequence.
 *
 * @module
 */
import type { JsonValue } from "../../../contract/json.ts";
import { toolsBeforeAfter } from "../../gateway/mod.ts";

/** One line of a diff: kept, removed (only before) or added (only after). */
export interface DiffLine {
  op: "same" | "removed" | "added";
  text: string;
}

/** Past this many lines a side, the diff is every old line removed and every new one added (bounded work). */
const MAX_LINES = 2000;

/** The lines a value reads as: objects one key a line, a multi-line string one line each. */
export function valueLines(value: JsonValue | null): string[] {
  if (value === null) return [];
  return render(value, "");
}

function render(value: JsonValue, indent: string): string[] {
  if (typeof value === "string") {
    const lines = value.split("\n");
    return lines.length === 1 ? [`${indent}${JSON.stringify(value)}`] : lines.map((l) => `${indent}| ${l}`);
  }
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v !== "object" || v === null)) return [`${indent}${JSON.stringify(value)}`];
    return value.flatMap((v) => [`${indent}-`, ...render(v, `${indent}  `)]);
  }
  if (value !== null && typeof value === "object") {
    return Object.keys(value).sort().flatMap((key) => {
      const inner = render(value[key] as JsonValue, `${indent}  `);
      return inner.length === 1 && !inner[0].startsWith(`${indent}  | `)
        ? [`${indent}${key}: ${inner[0].trimStart()}`]
        : [`${indent}${key}:`, ...inner];
    });
  }
  return [`${indent}${JSON.stringify(value)}`];
}

/** The line diff from `before` to `after`. */
export function diffLines(before: readonly string[], after: readonly string[]): DiffLine[] {
  if (before.length > MAX_LINES || after.length > MAX_LINES) {
    return [
      ...before.map((text) => ({ op: "removed" as const, text })),
      ...after.map((text) => ({ op: "added" as const, text })),
    ];
  }
  // lcs[i][j]: the longest common subsequence of before[i..] and after[j..].
  const lcs = Array.from({ length: before.length + 1 }, () => new Uint16Array(after.length + 1));
  for (let i = before.length - 1; i >= 0; i--) {
    for (let j = after.length - 1; j >= 0; j--) {
      lcs[i][j] = before[i] === after[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < before.length || j < after.length) {
    if (i < before.length && j < after.length && before[i] === after[j]) {
      out.push({ op: "same", text: before[i++] });
      j++;
    } else if (i < before.length && (j === after.length || lcs[i + 1][j] >= lcs[i][j + 1])) {
      out.push({ op: "removed", text: before[i++] }); // removals first: "− old, + new" reads naturally
    } else {
      out.push({ op: "added", text: after[j++] });
    }
  }
  return out;
}

/** The diff of a change's two values (a tools change: one tool a line). */
export function changeDiff(change: { kind: string; before: JsonValue | null; after: JsonValue }): DiffLine[] {
  const tools = change.kind === "enabled_tools" ? toolsBeforeAfter(change.before, change.after) : undefined;
  if (tools) {
    const lines = (list: readonly string[], unrestricted: boolean) => [
      ...(unrestricted ? [EVERY_TOOL] : []),
      ...list.map((t) => `tool ${t}`),
    ];
    return diffLines(lines(tools.old, tools.unrestricted.old), lines(tools.next, tools.unrestricted.next));
  }
  const { before, after } = change.kind === "persona" ? personaFields(change.before, change.after) : change;
  return diffLines(valueLines(before), valueLines(after));
}

/** The line an unrestricted agent's tools begin with (so a move to a fixed list reads as a change). */
const EVERY_TOOL = "every built-in tool, now and future:";

type JsonObject = { [key: string]: JsonValue };
const isObject = (v: JsonValue | null): v is JsonObject =>
  v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * A persona change sets only the documents it names (the rest are kept, see
 * `setPersonaDocs`), and `persona` is the old name of `instructions`: compare
 * just those documents, or every untouched one would read as removed.
 */
function personaFields(
  before: JsonValue | null,
  after: JsonValue,
): { before: JsonValue | null; after: JsonValue } {
  if (!isObject(before) || !isObject(after)) return { before, after };
  const { persona, ...docs } = after;
  const named: JsonObject = persona === undefined ? docs : { instructions: persona, ...docs };
  return { before: Object.fromEntries(Object.keys(named).map((k) => [k, before[k] ?? null])), after: named };
}
