/**
 * Audit entries and their hash chain: each line's `hash` is SHA-256 (hex)
 * over the canonical JSON of the line without `hash`, which includes `prev`,
 * the hash of the line before ("" for the first).
 *
 * @module
 */
import type { z } from "zod";
import { AuditEntry } from "../../contract/gateway.ts";
import { canonicalJson } from "../../contract/json.ts";

/** What a caller supplies; time and chain fields are added by the log. */
export const AuditInput = AuditEntry.pick({ stage: true, changeId: true, kind: true, detail: true });
export type AuditInput = z.input<typeof AuditInput>;

/** An entry before its hash is known. */
export type UnhashedEntry = Omit<AuditEntry, "hash">;

/** The hash of `entry` (any `hash` field present is ignored). */
export async function entryHash(entry: UnhashedEntry): Promise<string> {
  const { hash: _, ...body } = entry as AuditEntry;
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonicalJson(body)));
  return new Uint8Array(digest).toHex();
}

/** The stored line for `entry` (canonical JSON, no newline). */
export function entryLine(entry: AuditEntry): string {
  return canonicalJson(entry);
}

/** A zod failure as one short clause: the first issue's path and message. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return `${issue.path.map(String).join(".") || "entry"}: ${issue.message}`;
}
