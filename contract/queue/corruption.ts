/**
 * The corruption-streak rule: a reader that fails three polls in a row with a
 * corruption-class error gives up, so the process exits and the host, which
 * owns the files, decides what happens next.
 *
 * @module
 */
import { SqliteError, type SqliteErrorKind } from "../sqlite/mod.ts";

/** Consecutive corruption-class failures that are fatal. */
export const CORRUPTION_STREAK_LIMIT = 3;

const CORRUPTION_KINDS: ReadonlySet<SqliteErrorKind> = new Set(["corrupt", "not_a_database", "wrong_key"]);

/** True for failures that mean the file itself is damaged or unreadable. */
export function isCorruption(err: unknown): boolean {
  return err instanceof SqliteError && CORRUPTION_KINDS.has(err.kind);
}

/** Thrown when the streak reaches the limit. */
export class CorruptionStreakError extends Error {
  override name = "CorruptionStreakError";
  constructor(readonly path: string, readonly last: Error) {
    super(`${path}: ${CORRUPTION_STREAK_LIMIT} corruption errors in a row; last: ${last.message}`);
  }
}

/** Counts consecutive corruption-class failures of one file. */
export class CorruptionStreak {
  #count = 0;
  constructor(readonly path: string, readonly limit = CORRUPTION_STREAK_LIMIT) {}

  /** Runs `fn`; a success resets the count, a corruption failure counts and rethrows (fatally at the limit). */
  guard<T>(fn: () => T): T {
    try {
      const result = fn();
      this.#count = 0;
      return result;
    } catch (err) {
      if (!isCorruption(err)) throw err;
      this.#count++;
      if (this.#count >= this.limit) throw new CorruptionStreakError(this.path, err as Error);
      throw err;
    }
  }

  /** Failures so far in the current streak. */
  get count(): number {
    return this.#count;
  }
}

/** SQLITE_READONLY_ROLLBACK: a read-only connection found a hot journal it may not roll back. */
export const SQLITE_READONLY_ROLLBACK = 776;

/**
 * True when a read-only connection failed because the file needs a rollback
 * it may not perform: a hot journal left by a writer that stopped
 * mid-transaction (or one that wrote without the queue lease). SQLite words
 * it "attempt to write a readonly database". It is transient, not damage: the
 * file's writer rolls the journal back when it next opens the file.
 */
export function isHotJournal(err: unknown): boolean {
  return err instanceof SqliteError && (err.code === SQLITE_READONLY_ROLLBACK || err.kind === "read_only");
}
