/**
 * Audit entries and their chain: each line's `hash` is HMAC-SHA256 (hex),
 * under the host's audit key, over the canonical JSON of the line without
 * `hash`, which includes `prev`, the hash of the line before ("" for the
 * first). Without the key no one can write a line that verifies, so
 * rewriting the file and recomputing the chain is detected.
 *
 * Logs written before keying hold plain SHA-256 lines ("legacy"); they are
 * accepted only before the first keyed line, and reported as such.
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

/** The HMAC key an audit chain is written under. */
export type AuditKey = CryptoKey & { readonly __brand: "AuditKey" };

/** Imports 32 raw bytes (the custodian's `audit-hmac` data key) as an {@linkcode AuditKey}. */
export async function importAuditKey(raw: Uint8Array): Promise<AuditKey> {
  return await crypto.subtle.importKey("raw", new Uint8Array(raw), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ]) as AuditKey;
}

/**
 * The hash of `entry` (any `hash` field present is ignored): HMAC-SHA256
 * under `key`, or, with no key, the legacy plain SHA-256.
 */
export async function entryHash(entry: UnhashedEntry, key?: AuditKey): Promise<string> {
  const { hash: _, ...body } = entry as AuditEntry;
  const bytes = new TextEncoder().encode(canonicalJson(body));
  const digest = key
    ? await crypto.subtle.sign("HMAC", key, bytes)
    : await crypto.subtle.digest("SHA-256", bytes);
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
