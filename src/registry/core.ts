/**
 * What every part of the registry shares: the state database, the clock,
 * the lookups that cross tables, and **the one write path**. Every write to
 * the registry's configuration (agents, chats, wirings, destinations,
 * people) goes through {@link RegistryCore.write}: it runs in a transaction,
 * reads its subject before and after, and once the transaction commits hands
 * a {@link RegistryWrite} (who, what, before → after) to every listener
 * ({@link RegistryCore.onWrite}). A rolled-back write is never reported.
 * The same transaction keeps the report in an outbox table until a
 * listener says it is audited ({@link RegistryCore.markAudited}), so a crash
 * between the commit and the audit line loses no line: the next start finds
 * the write in {@link RegistryCore.unaudited}.
 * Session bookkeeping (last activity, sandbox status) changes on every
 * message: it is runtime state, not configuration, and goes through
 * {@link RegistryCore.bookkeep}, unreported.
 *
 * @module
 */
import { type JsonValue, nowTimestamp, type Timestamp } from "../../contract/mod.ts";
import type { AgentGroupId } from "../../contract/ids.ts";
import type { Database, Row } from "../../contract/sqlite/mod.ts";
import { NotFoundError, type StateDb } from "../state/mod.ts";

/** Registry construction options. */
export interface RegistryOptions {
  /** The clock behind `createdAt`, `updatedAt` and `lastActive` (tests pin it). */
  now?: () => Timestamp;
  /** Who writes through this registry, as audit lines name them (default `host`; see `as`). */
  by?: string;
}

/** The registry's configuration writes, named as the CLI's `registry` verbs where it has one. */
export type RegistryAction =
  | "put-agent-group"
  | "delete-agent-group"
  | "set-persona"
  | "set-enabled-tools"
  | "set-packages"
  | "set-mounts"
  | "set-mcp-grant"
  | "set-memory-partition"
  | "create-messaging-group"
  | "set-unknown-sender-policy"
  | "put-wiring"
  | "delete-wiring"
  | "put-user"
  | "grant-role"
  | "revoke-role"
  | "add-member"
  | "remove-member"
  | "add-destination"
  | "remove-destination";

/** One committed configuration write. */
export interface RegistryWrite {
  /** Who wrote (the registry's `by`: `operator`, `change chg_…`, `host`…). */
  by: string;
  action: RegistryAction;
  /** What was written, in words (`agent group main`, `member web:ann of main`). */
  subject: string;
  /** The agent group it concerns, when one. */
  agentGroupId: AgentGroupId | null;
  /** The subject's state before and after (null: it did not exist). */
  before: JsonValue | null;
  after: JsonValue | null;
  /** Its row in the audit outbox, removed by {@link RegistryCore.markAudited}. */
  seq: number;
}

/** A write about to be made: what it is, and how to read its subject's state. */
export interface WriteOf {
  action: RegistryAction;
  subject: string;
  agentGroupId?: string | null;
  /** The subject's state (null when absent), read before and after the write. */
  read: () => JsonValue | null;
}

/** Per database connection: who listens to its registry writes, and those of its open transaction. */
interface WriteLog {
  listeners: ((write: RegistryWrite) => void)[];
  pending: RegistryWrite[];
}
const WRITE_LOGS = new WeakMap<Database, WriteLog>();

/** The shared base of the registry's parts. */
export class RegistryCore {
  protected readonly db: Database;
  protected readonly now: () => Timestamp;
  /** Who writes through this registry (see {@link as}). */
  readonly by: string;
  #state: StateDb;
  #log: WriteLog;

  constructor(state: StateDb, options: RegistryOptions = {}) {
    this.#state = state;
    this.db = state.db;
    this.now = options.now ?? nowTimestamp;
    this.by = options.by ?? "host";
    // Keyed by the connection: transactions, and so the writes they hold back, are the connection's.
    let log = WRITE_LOGS.get(state.db);
    if (!log) WRITE_LOGS.set(state.db, log = { listeners: [], pending: [] });
    this.#log = log;
  }

  /**
   * This registry with its writes attributed to `by` (the API's routes write
   * as `operator`, the gateway's applier as `change <id>`): same database,
   * clock and listeners.
   */
  as(by: string): this {
    const Same = this.constructor as new (state: StateDb, options: RegistryOptions) => this;
    return new Same(this.#state, { now: this.now, by });
  }

  /** Calls `listener` with every configuration write on this database, after it commits. */
  onWrite(listener: (write: RegistryWrite) => void): void {
    this.#log.listeners.push(listener);
  }

  /**
   * Runs `fn`'s registry writes as one transaction: all or none, reported
   * once it commits (the gateway applies a change this way). Registry writes
   * inside a transaction opened elsewhere are not reported: open it here.
   */
  transaction<T>(fn: () => T): T {
    if (this.db.inTransaction) return fn();
    const { pending, listeners } = this.#log;
    const mark = pending.length;
    let result: T;
    try {
      result = this.db.transaction(fn);
    } catch (err) {
      pending.splice(mark);
      throw err;
    }
    for (const write of pending.splice(mark)) for (const listener of listeners) listener(write);
    return result;
  }

  /** Makes one configuration write (see the module doc). */
  protected write<T>(what: WriteOf, apply: () => T): T {
    return this.transaction(() => {
      const before = what.read();
      const result = apply();
      const report = {
        by: this.by,
        action: what.action,
        subject: what.subject,
        agentGroupId: (what.agentGroupId ?? null) as AgentGroupId | null,
        before,
        after: what.read(),
      };
      // In the write's own transaction: committed together or not at all.
      const { seq } = this.db.get<{ seq: number }>(
        "INSERT INTO registry_audit_outbox (write) VALUES (?) RETURNING seq",
        [JSON.stringify(report)],
      )!;
      this.#log.pending.push({ ...report, seq });
      return result;
    });
  }

  /** Committed writes no listener has marked audited yet (a crash came between), oldest first. */
  unaudited(): RegistryWrite[] {
    return this.db.all<{ seq: number; write: string }>(
      "SELECT seq, write FROM registry_audit_outbox ORDER BY seq",
    )
      .map((row) => ({ ...JSON.parse(row.write), seq: row.seq }));
  }

  /** Removes write `seq` from the audit outbox once its audit line is written. */
  markAudited(seq: number): void {
    this.db.run("DELETE FROM registry_audit_outbox WHERE seq = ?", [seq]);
  }

  /** Session bookkeeping: a transaction, not reported (see the module doc). */
  protected bookkeep<T>(fn: () => T): T {
    return this.db.transaction(fn);
  }

  /** Throws `NotFoundError` unless agent group `id` exists. */
  protected requireAgentGroup(id: string): void {
    if (!this.db.get("SELECT 1 AS x FROM agent_groups WHERE id = ?", [id])) {
      throw new NotFoundError("agent group", id);
    }
  }

  /** Throws `NotFoundError` unless messaging group `id` exists. */
  protected requireMessagingGroup(id: string): void {
    if (!this.db.get("SELECT 1 AS x FROM messaging_groups WHERE id = ?", [id])) {
      throw new NotFoundError("messaging group", id);
    }
  }
}

/** The constructor shape a registry part extends (TypeScript's mixin form). */
// deno-lint-ignore no-explicit-any
export type RegistryBase = abstract new (...args: any[]) => RegistryCore;

/** A stored row as a write report carries it: decoded, as plain JSON (null when absent). */
export function asJson<T>(row: Row | undefined, decode: (row: Row) => T): JsonValue | null {
  return row === undefined ? null : JSON.parse(JSON.stringify(decode(row)));
}

/** Strings without duplicates, in first-seen order. */
export function unique(items: readonly string[]): string[] {
  return [...new Set(items)];
}
