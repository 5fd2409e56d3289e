/**
 * The gateway audit log: append-only JSONL, one hash-chained
 * {@linkcode AuditEntry} per line, owner-only, flushed after every line.
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
import { PRIVATE_MODE, privateFileProblem, syncDir, writeAll } from "../keys/private_file.ts";
import { AuditInput, describeIssue, entryHash, entryLine, type UnhashedEntry } from "./entry.ts";
import { AuditLogError } from "./errors.ts";
import { readAuditTail } from "./tail.ts";
import { verifyAuditFile, type VerifyResult } from "./verify.ts";

/** The audit log's file name inside the state directory. */
export const AUDIT_LOG_FILE = "audit.jsonl";

/** An open audit log, the only writer of its file. */
export class AuditLog {
  #file: Deno.FsFile | undefined;
  #head: string;
  #failure: string | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(readonly path: string, file: Deno.FsFile, head: string) {
    this.#file = file;
    this.#head = head;
  }

  /**
   * Opens (or creates, mode 0600) the log at `path` for appending. Throws
   * {@linkcode AuditLogError} if the file is open to group or other, or its
   * chain does not verify.
   */
  static async open(path: string): Promise<AuditLog> {
    try {
      const file = await Deno.open(path, { createNew: true, append: true, mode: PRIVATE_MODE });
      await syncDir(dirname(path));
      return new AuditLog(path, file, "");
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    }
    const file = await Deno.open(path, { append: true });
    try {
      const problem = privateFileProblem(path, await file.stat());
      if (problem) throw new AuditLogError(path, `the log file ${problem}`);
      const verified = await verifyAuditFile(path);
      if (!verified.ok) {
        throw new AuditLogError(
          path,
          `line ${verified.line}: ${verified.reason}; refusing to extend a broken chain ` +
            `(keep the file as evidence, move it aside, and restart to begin a new log)`,
        );
      }
      return new AuditLog(path, file, verified.head);
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
      const entry: AuditEntry = { ...body, hash: await entryHash(body) };
      try {
        await writeAll(file, new TextEncoder().encode(entryLine(entry) + "\n"));
        await file.sync();
      } catch (err) {
        this.#failure = err instanceof Error ? err.message : String(err);
        throw new AuditLogError(this.path, `append failed: ${this.#failure}`);
      }
      this.#head = entry.hash;
      return entry;
    });
  }

  /** The last `limit` entries, oldest first, including every append made before this call. */
  tail(limit: number): Promise<AuditEntry[]> {
    return this.#serial(() => readAuditTail(this.path, limit));
  }

  /** Verifies the whole chain (see {@linkcode verifyAuditFile}) after every append made before this call. */
  verify(): Promise<VerifyResult> {
    return this.#serial(() => verifyAuditFile(this.path));
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
