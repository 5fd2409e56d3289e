/**
 * Reads the newest audit entries without reading the whole file. It checks
 * that each returned line is a well-formed entry, not the chain: that is
 * {@linkcode verifyAuditFile}'s job.
 *
 * @module
 */
import { AuditEntry } from "../../contract/gateway.ts";
import { AuditLogError } from "./errors.ts";

const CHUNK = 64 * 1024;
const NEWLINE = 0x0a;

/** The last `limit` entries of the log at `path`, oldest first; [] when the file does not exist. */
export async function readAuditTail(path: string, limit: number): Promise<AuditEntry[]> {
  if (!Number.isInteger(limit) || limit < 0) {
    throw new RangeError(`audit tail limit must be a whole number ≥ 0, got ${limit}`);
  }
  if (limit === 0) return [];
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
  let tail: Uint8Array;
  try {
    tail = await readLastLines(file, limit, path);
  } finally {
    file.close();
  }
  if (tail.length === 0) return [];
  if (tail[tail.length - 1] !== NEWLINE) {
    throw new AuditLogError(path, "the last line has no trailing newline (torn write); verify the log");
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(tail.subarray(0, -1));
  } catch {
    throw new AuditLogError(path, "the newest lines are not valid UTF-8; verify the log");
  }
  return text.split("\n").map((line) => {
    try {
      return AuditEntry.parse(JSON.parse(line));
    } catch {
      throw new AuditLogError(path, `one of the last ${limit} lines is not an audit entry; verify the log`);
    }
  });
}

/** The bytes of the last `count` lines (each with its newline, the final one possibly torn). */
async function readLastLines(file: Deno.FsFile, count: number, path: string): Promise<Uint8Array> {
  const size = (await file.stat()).size;
  const parts: Uint8Array[] = [];
  let pos = size;
  // Enough once count + 1 newlines are in hand: the last line's terminator and count boundaries.
  let newlines = 0;
  while (pos > 0 && newlines <= count) {
    const chunk = new Uint8Array(Math.min(CHUNK, pos));
    pos -= chunk.length;
    await file.seek(pos, Deno.SeekMode.Start);
    for (let read = 0; read < chunk.length;) {
      const n = await file.read(chunk.subarray(read));
      if (n === null) throw new AuditLogError(path, "the file shrank while being read");
      read += n;
    }
    parts.unshift(chunk);
    newlines += chunk.reduce((n, b) => n + (b === NEWLINE ? 1 : 0), 0);
  }
  const all = new Uint8Array(size - pos);
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  // Cut at the count-th boundary from the end, not counting the final terminator.
  let start = 0;
  let seen = 0;
  for (let i = all.length - 1; i >= 0; i--) {
    if (all[i] !== NEWLINE || i === all.length - 1) continue;
    if (++seen === count) {
      start = i + 1;
      break;
    }
  }
  return all.subarray(start);
}
