/**
 * The gateway audit log: append-only JSONL, one hash-chained
 * {@linkcode AuditEntry} per line, owner-only, flushed after every line.
 *
 * Lines are keyed (HMAC under the host's audit key) and every append moves
 * the anchor in the state database, so a rewritten or truncated file is
 * detected even when its chain is recomputed. Without a key (tests, and
 * reading a log written before keying) lines are plain SHA-256.
 *
 * Appends are serialised so the chain never forks. Opening verifies the
 * whole existing chain and refuses to build on a broken one (a torn last
 * line from a crash included): the operator keeps the file as evidence and
 * starts a new log, rather than the break being buried under new lines.
 *
 * @module
 */
import { dirname } from "node:path";
import type { AuditEntry } from "../../contract/gateway.ts";
import { nowTimestamp } from "../../contract/time.ts";
import { PRIVATE_MODE, privateFileProblem, syncDir, writeAll } from "../keys/mod.ts";
import type { AuditAnchorStore } from "./anchor.ts";
import {
  AuditInput,
  type AuditKey,
  describeIssue,
  entryHash,
  entryLine,
  type UnhashedEntry,
} from "./entry.ts";
import { AuditLogError } from "./errors.ts";
import { readAuditTail } from "./tail.ts";
import { verifyAuditFile, type VerifyResult } from "./verify.ts";

/** The audit log's file name inside the state directory. */
export const AUDIT_LOG_FILE = "audit.jsonl";

/** What a log is written under. */
export interface AuditLogOptions {
  /** The HMAC key of new lines (absent: plain SHA-256, for tests and legacy reading only). */
  key?: AuditKey;
  /** Where the chain's end is recorded after each append (the state database). */
  anchor?: AuditAnchorStore;
}

/** An open audit log, the only writer of its file. */
export class AuditLog {
  #file: Deno.FsFile | undefined;
  #head: string;
  #lines: number;
  #failure: string | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly path: string,
    file: Deno.FsFile,
    at: { head: string; lines: number; options: AuditLogOptions },
  ) {
    this.#file = file;
    this.#head = at.head;
    this.#lines = at.lines;
    this.#options = at.options;
  }

  readonly #options: AuditLogOptions;

  /**
   * Opens (or creates, mode 0600) the log at `path` for appending. Throws
   * {@linkcode AuditLogError} if the file is open to group or other, or its
   * chain does not verify.
   */
  static async open(path: string, options: AuditLogOptions = {}): Promise<AuditLog> {
    const anchor = options.anchor?.read();
    try {
      const file = await Deno.open(path, { createNew: true, append: true, mode: PRIVATE_MODE });
      await syncDir(dirname(path));
      if (anchor && anchor.lines > 0) {
        file.close();
        await Deno.remove(path);
        throw new AuditLogError(
          path,
          `the state database records ${anchor.lines} audit lines but the log file is gone; restore it from backup`,
        );
      }
      options.anchor?.write({ lines: 0, head: "" });
      return new AuditLog(path, file, { head: "", lines: 0, options });
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    }
    const file = await Deno.open(path, { append: true });
    try {
      const problem = privateFileProblem(path, await file.stat());
      if (problem) throw new AuditLogError(path, `the log file ${problem}`);
      const verified = await verifyAuditFile(path, { key: options.key, anchor });
      if (!verified.ok) {
        throw new AuditLogError(
          path,
          `line ${verified.line}: ${verified.reason}; refusing to extend a broken chain ` +
            `(keep the file as evidence, move it aside, and restart to begin a new log)`,
        );
      }
      // Lines past the anchor verified under the key (a crash between the file and the database): anchor them.
      options.anchor?.write({ lines: verified.lines, head: verified.head });
      return new AuditLog(path, file, { head: verified.head, lines: verified.lines, options });
    } catch (err) {
      file.close();
      throw err;
    }
  }

  /** The hash of the newest line ("" when empty). Recorded elsewhere, it also exposes truncation. */
  get head(): string {
    return this.#head;
  }

  /**
   * Appends one entry and flushes it to disk before resolving. After a failed
   * write the log refuses further appends: the file may end in a torn line.
   */
  append(input: AuditInput): Promise<AuditEntry> {
    return this.#serial(async () => {
      const file = this.#file;
      if (!file) throw new AuditLogError(this.path, "the audit log is closed");
      if (this.#failure) {
        throw new AuditLogError(this.path, `an earlier append failed (${this.#failure}); reopen the log`);
      }
      const parsed = AuditInput.safeParse(input);
      if (!parsed.success) {
        throw new AuditLogError(this.path, `not an audit entry (${describeIssue(parsed.error)})`);
      }
      const { stage, changeId, kind, detail } = parsed.data;
      const body: UnhashedEntry = {
        time: nowTimestamp(),
        stage,
        changeId,
        ...(kind ? { kind } : {}),
        ...(detail ? { detail } : {}),
        prev: this.#head,
      };
      const entry: AuditEntry = { ...body, hash: await entryHash(body, this.#options.key) };
      try {
        await writeAll(file, new TextEncoder().encode(entryLine(entry) + "\n"));
        await file.sync();
      } catch (err) {
        this.#failure = err instanceof Error ? err.message : String(err);
        throw new AuditLogError(this.path, `append failed: ${this.#failure}`);
      }
      this.#head = entry.hash;
      this.#lines++;
      this.#options.anchor?.write({ lines: this.#lines, head: this.#head });
      return entry;
    });
  }

  /** The last `limit` entries, oldest first, including every append made before this call. */
  tail(limit: number): Promise<AuditEntry[]> {
    return this.#serial(() => readAuditTail(this.path, limit));
  }

  /** Verifies the whole chain (see {@linkcode verifyAuditFile}) after every append made before this call. */
  verify(): Promise<VerifyResult> {
    return this.#serial(() =>
      verifyAuditFile(this.path, { key: this.#options.key, anchor: this.#options.anchor?.read() })
    );
  }

  /**
   * Runs `fn` between appends: every earlier append is in the file and the
   * anchor, and none starts until `fn` is done, so a copy of the file taken
   * synchronously in `fn` agrees with the anchor read in `fn` (a backup).
   */
  atRest<T>(fn: () => T): Promise<T> {
    return this.#serial(fn);
  }

  /** Waits for pending appends, then closes the file. */
  close(): Promise<void> {
    return this.#serial(() => {
      this.#file?.close();
      this.#file = undefined;
    });
  }

  #serial<T>(fn: () => T | Promise<T>): Promise<T> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
