/**
 * Checks an audit file line by line and reports the first line that breaks
 * the chain. Line numbers start at 1; line 0 means the file as a whole.
 *
 * @module
 */
import { AuditEntry } from "../../contract/gateway.ts";
import { describeIssue, entryHash, entryLine } from "./entry.ts";

/** The outcome of {@linkcode verifyAuditFile}. */
export type VerifyResult =
  | { ok: true; lines: number; head: string }
  | { ok: false; line: number; reason: string };

const NEWLINE = 0x0a;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Verifies the whole chain in `path`: every line newline-terminated, valid
 * JSON, a well-formed entry in canonical form, linked to the line before,
 * and hashing to its own `hash`. `head` is the last line's hash ("" if empty).
 */
export async function verifyAuditFile(path: string): Promise<VerifyResult> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { ok: false, line: 0, reason: "file does not exist" };
    throw err;
  }
  let line = 0;
  let head = "";
  for await (const { bytes, terminated } of lines(file)) {
    line++;
    const checked = await checkLine(bytes, terminated, head);
    if (typeof checked === "string") return { ok: false, line, reason: checked };
    head = checked.hash;
  }
  return { ok: true, lines: line, head };
}

/** The entry on one line, or why the line breaks the chain after `prev`. */
async function checkLine(bytes: Uint8Array, terminated: boolean, prev: string): Promise<AuditEntry | string> {
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
  if (await entryHash(entry) !== entry.hash) return "hash does not match the line's content (altered)";
  return entry;
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
