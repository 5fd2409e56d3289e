/**
 * The gateway audit log (`audit.jsonl`): append-only, hash-chained JSONL.
 *
 * ```ts
 * const stateDir = await Deno.makeTempDir();
 * const log = await AuditLog.open(`${stateDir}/${AUDIT_LOG_FILE}`);
 * await log.append({ stage: "submit", changeId: "chg_1", kind: "persona", detail: "web:alice" });
 * const result = await verifyAuditFile(log.path);
 * console.log(result);
 * await log.close();
 * await Deno.remove(stateDir, { recursive: true });
 * ```
 *
 * @module
 */
export { AUDIT_LOG_FILE, AuditLog, type AuditLogOptions } from "./audit_log.ts";
export { type AuditAnchor, type AuditAnchorStore, stateAuditAnchor } from "./anchor.ts";
export { AuditInput, type AuditKey, entryHash, importAuditKey } from "./entry.ts";
export { AuditLogError } from "./errors.ts";
export { readAuditTail } from "./tail.ts";
export { verifyAuditFile, type VerifyOptions, type VerifyResult } from "./verify.ts";
export { describeIssue } from "./entry.ts";
