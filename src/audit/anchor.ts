/**
 * The audit anchor: the chain's line count and head, kept in the encrypted
 * state database after every append. The log file's writer can rewrite the
 * file but not the database, so a truncated or replaced file no longer ends
 * where the anchor says and verification fails.
 *
 * @module
 */
import type { StateDb } from "../state/mod.ts";

/** Where the chain ended at the last append. */
export interface AuditAnchor {
  lines: number;
  head: string;
}

/** Reads and moves the anchor. */
export interface AuditAnchorStore {
  read(): AuditAnchor | undefined;
  write(anchor: AuditAnchor): void;
}

/** The anchor in the state database's `audit_anchor` row. */
export function stateAuditAnchor(state: StateDb): AuditAnchorStore {
  return {
    read() {
      const row = state.db.get(`SELECT lines, head FROM audit_anchor WHERE id = 1`);
      return row ? { lines: row.lines as number, head: row.head as string } : undefined;
    },
    write({ lines, head }) {
      state.db.run(
        `INSERT INTO audit_anchor (id, lines, head) VALUES (1, ?, ?)
         ON CONFLICT (id) DO UPDATE SET lines = excluded.lines, head = excluded.head`,
        [lines, head],
      );
    },
  };
}
