/**
 * The gateway audit log (`audit.jsonl`): append-only, hash-chained JSONL.
 *
 * ```ts
 * const log = await AuditLog.open(`${stateDir}/${AUDIT_LOG_FILE}`);
 * await log.append({ stage: "submit", changeId, kind: "persona", detail: "web:alice" });
 * const result = await verifyAuditFile(log.path);
 * ```
 *
 * @module
 */
export { AUDIT_LOG_FILE, AuditLog } from "./audit_log.ts";
export { AuditInput, entryHash } from "./entry.ts";
export { AuditLogError } from "./errors.ts";
export { readAuditTail } from "./tail.ts";
export { verifyAuditFile, type VerifyResult } from "./verify.ts";
