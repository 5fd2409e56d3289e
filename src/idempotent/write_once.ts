/**
 * Idempotent hand-over between the host's two stores. The state database and
 * a session's inbound queue cannot share a transaction, so every row the host
 * derives from an event gets an id computed from that event: doing the work
 * again after a crash finds the row already there instead of writing a twin.
 *
 * @module
 */
import type { InboundWriter } from "../../contract/queue/mod.ts";
import { SqliteError } from "../../contract/sqlite/mod.ts";

/** `<prefix>_` + 32 hex of SHA-256 over the parts (unambiguously joined): the same parts, the same id. */
export async function stableId(prefix: string, ...parts: readonly string[]): Promise<string> {
  const bytes = new TextEncoder().encode(JSON.stringify(parts));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const hex = Array.from(digest.subarray(0, 16), (b) => b.toString(16).padStart(2, "0")).join("");
  return `${prefix}_${hex}`;
}

/** True when `err` is the unique-key failure of writing a row that is already there. */
export function isDuplicateRow(err: unknown): boolean {
  return err instanceof SqliteError && err.kind === "constraint";
}

/** Writes `row` unless a row with its id exists; true when it wrote. */
export function writeOnce(
  writer: InboundWriter,
  row: Parameters<InboundWriter["writeMessageIn"]>[0],
): boolean {
  try {
    writer.writeMessageIn(row);
    return true;
  } catch (err) {
    if (isDuplicateRow(err)) return false;
    throw err;
  }
}
