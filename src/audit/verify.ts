/**
 * Checks an audit file line by line and reports the first line that breaks
 * the chain. Line numbers start at 1; line 0 means the file as a whole.
 *
 * @module
 */
import { AuditEntry } from "../../contract/gateway.ts";
import type { AuditAnchor } from "./anchor.ts";
import { type AuditKey, describeIssue, entryHash, entryLine } from "./entry.ts";

/** The outcome of {@linkcode verifyAuditFile}. */
export type VerifyResult =
  | {
    ok: true;
    lines: number;
    head: string;
    /** Leading lines written before the chain was keyed (plain SHA-256: rewritable by the file's writer). */
    legacyLines: number;
    /** Whether the head was checked against the state database's anchor. */
    anchored: boolean;
  }
  | { ok: false; line: number; reason: string };

/** What a chain is checked against. */
export interface VerifyOptions {
  /** The audit key: keyed lines verify only under it (without it, only a legacy chain verifies). */
  key?: AuditKey;
  /** Where the state database says the chain ended: the file must still hold that line. */
  anchor?: AuditAnchor;
}

const NEWLINE = 0x0a;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Verifies the whole chain in `path`: every line newline-terminated, valid
 * JSON, a well-formed entry in canonical form, linked to the line before,
 * and hashing to its own `hash`. `head` is the last line's hash ("" if empty).
 */
export async function verifyAuditFile(path: string, options: VerifyOptions = {}): Promise<VerifyResult> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { ok: false, line: 0, reason: "file does not exist" };
    throw err;
  }
  const { key, anchor } = options;
  let line = 0;
  let head = "";
  let legacyLines = 0;
  let keyed = false;
  for await (const { bytes, terminated } of lines(file)) {
    line++;
    // Legacy lines only before the first keyed one, and (once anchored under a key) only up to the anchor.
    const legacyAllowed = !keyed && !(key && anchor && line > anchor.lines);
    const checked = await checkLine(bytes, { terminated, prev: head, key, legacyAllowed });
    if (typeof checked === "string") return { ok: false, line, reason: checked };
    head = checked.entry.hash;
    if (checked.legacy) legacyLines++;
    else keyed = true;
    if (anchor && line === anchor.lines && head !== anchor.head) {
      return { ok: false, line, reason: anchorBroken(anchor, "a different line there (rewritten)") };
    }
  }
  if (anchor && line < anchor.lines) {
    return { ok: false, line: 0, reason: anchorBroken(anchor, `only ${line} (truncated or replaced)`) };
  }
  return { ok: true, lines: line, head, legacyLines, anchored: anchor !== undefined };
}

function anchorBroken(anchor: AuditAnchor, found: string): string {
  return `the state database records ${anchor.lines} lines ending in ${
    anchor.head.slice(0, 16)
  }…, the file holds ${found}`;
}

/** The entry on one line and whether it is a legacy (unkeyed) line, or why the line breaks the chain. */
async function checkLine(
  bytes: Uint8Array,
  at: { terminated: boolean; prev: string; key?: AuditKey; legacyAllowed: boolean },
): Promise<{ entry: AuditEntry; legacy: boolean } | string> {
  const { terminated, prev } = at;
  if (!terminated) return "line has no trailing newline (torn write)";
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return "line is not valid UTF-8";
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return "line is not valid JSON";
  }
  const parsed = AuditEntry.safeParse(json);
  if (!parsed.success) return `line is not an audit entry (${describeIssue(parsed.error)})`;
  const entry = parsed.data;
  if (entry.prev !== prev) {
    return "prev does not match the previous line's hash (a line was removed, reordered or inserted)";
  }
  if (entryLine(entry) !== text) return "line is not in canonical form (altered)";
  if (at.key && await entryHash(entry, at.key) === entry.hash) return { entry, legacy: false };
  if (at.legacyAllowed && await entryHash(entry) === entry.hash) return { entry, legacy: true };
  if (!at.key) return "hash does not match the line's content (altered, or keyed: the audit key is needed)";
  return at.legacyAllowed
    ? "hash does not match the line's content under the audit key (altered or forged)"
    : "an unkeyed line after keyed ones, or altered (its hash is not under the audit key)";
}

/** The file's lines without their newlines; only the last may be unterminated. Closes `file`. */
async function* lines(file: Deno.FsFile): AsyncGenerator<{ bytes: Uint8Array; terminated: boolean }> {
  let pending = new Uint8Array(0);
  for await (const chunk of file.readable) {
    let buf = pending.length ? concat(pending, chunk) : chunk;
    for (let nl = buf.indexOf(NEWLINE); nl !== -1; nl = buf.indexOf(NEWLINE)) {
      yield { bytes: buf.subarray(0, nl), terminated: true };
      buf = buf.subarray(nl + 1);
    }
    pending = buf.slice();
  }
  if (pending.length) yield { bytes: pending, terminated: false };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
