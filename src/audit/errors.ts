/**
 * Audit log failures.
 *
 * @module
 */

/** The audit log cannot be opened, written, or read as it stands. */
export class AuditLogError extends Error {
  override name = "AuditLogError";
  constructor(readonly path: string, message: string) {
    super(`${path}: ${message}`);
  }
}
