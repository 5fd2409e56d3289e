/**
 * The host's per-session queue handles: the {@link SessionQueues} the
 * router, delivery, scheduler and question loop use.
 *
 * The first use of a session in this process takes its key from the
 * custodian (generated and sealed on first use), provisions its two files
 * under `<root>/<sid>/` (idempotent: existing rows survive), opens the
 * host's inbound writer and outbound reader, and seeds what the agent reads
 * besides messages: the conversation's routing (from the registry session),
 * the agent group's destinations and the session's scheduled tasks. Handles
 * are cached until {@link SessionQueueStore.close} (or `forget`).
 *
 * Each session has a {@link QueueLease}: the host's lock over its two files,
 * which the agent takes turns on through the lease socket (serve it with
 * `new Doorbell(path, { lease: store.lease(sid), … })`). Every handle this
 * store hands out starts a host turn first, so the host's transactions never
 * overlap the agent's, even under gVisor where SQLite's file locks do not
 * cross the sandbox boundary.
 *
 * A queue file that is damaged (not a database, corrupt, or undecryptable
 * with the session's key) fails the open with a {@link QueueDamagedError}
 * naming the session and the file, and is reported once per failed open to
 * `onDamaged` (the control plane parks the session). Nothing is cached, so
 * the next use tries again: a file an operator restored is picked up.
 *
 * {@link SessionQueueStore.inboundTurn} gives the back-pressure gate
 * (`backlog.ts`) a count of the session's unanswered rows and the writer in
 * one synchronous turn, so the count decides exactly the write it guards.
 *
 * @module
 */
import type { SessionKey } from "../../contract/cipher.ts";
import { isSafeId, type SessionId } from "../../contract/ids.ts";
import type { Destination as QueueDestination, TaskRow } from "../../contract/rows.ts";
import {
  type InboundWriter,
  isCorruption,
  openWriter,
  type OutboundReader,
  type QueuePaths,
  type StatusAck,
} from "../../contract/queue/mod.ts";
import { type Database, SqliteError } from "../../contract/sqlite/mod.ts";
import {
  inboundWriterOn,
  openOutboundReader,
  provisionSession,
  sessionQueuePaths,
  withOutboundDir,
} from "../../contract/queue/host.ts";
import { type KeyId, sessionKeyId } from "../keys/mod.ts";
import type { Registry } from "../registry/mod.ts";
import { nowTimestamp, type Timestamp } from "../../contract/time.ts";
import type { SessionQueues } from "./types.ts";
import { countBacklog, type InboundTurn, type InboundTurns } from "./backlog.ts";
import { guardInboundWriter, guardOutboundReader } from "./guarded_queues.ts";
import { QueueLease } from "./queue_lease.ts";
import { homeOutbound, outboundHomeOf } from "./outbound_home.ts";

/** The channel type of agent-to-agent messages; a destination of this type names a target agent group. */
export const AGENT_CHANNEL = "agent";

/**
 * A session's queue file is damaged or unreadable (SQLite: not a database,
 * corrupt, or not decryptable with the session's key). The session cannot
 * take or give messages until an operator restores or removes the file.
 */
export class QueueDamagedError extends Error {
  override name = "QueueDamagedError";
  constructor(readonly sessionId: SessionId, readonly path: string, options?: ErrorOptions) {
    const detail = options?.cause instanceof Error ? options.cause.message : String(options?.cause);
    super(`the queue file of session ${sessionId} is damaged or unreadable (${detail})`, options);
  }
}

/** True for a damaged queue: a {@link QueueDamagedError}, or a corruption-class SQLite failure. */
export function isQueueDamage(err: unknown): boolean {
  return err instanceof QueueDamagedError || isCorruption(err);
}

/** The custody a queue store needs: a session key, generated on first use. */
export interface SessionKeySource {
  getOrCreate(id: KeyId): Promise<SessionKey>;
}

/** The task copy a session's inbound queue carries (see `src/scheduling`). */
export interface TaskSource {
  rows(sessionId: SessionId): TaskRow[];
}

/** How to build a queue store. */
export interface SessionQueueStoreOptions {
  /** Directory of the per-session queue directories: `<state-dir>/sessions`. */
  root: string;
  /** libsqlcipher. */
  library: string;
  keys: SessionKeySource;
  registry: Registry;
  /** Scheduled tasks to copy into each session's inbound queue on open. */
  tasks?: TaskSource;
  /** Owner to give the queue directories and files (the sandbox's uid), when the host runs as root. */
  sandboxUid?: number;
  sandboxGid?: number;
  /** The longest an agent's queue lease lasts (default `LEASE_CAP_MS`). */
  leaseCapMs?: number;
  /**
   * Where a session's outbound directory lives on bounded storage (its agent
   * group's workspace volume), or undefined to keep it where it is (no quota
   * here). `sessions/<id>/out` becomes a symlink to it (`outbound_home.ts`):
   * the agent writes there, so it must not be unbounded host disk.
   */
  outboundHome?: (sessionId: SessionId, agentGroupId: string) => Promise<string | undefined>;
  /** Told when opening a session's queues finds a file damaged (the open fails with that error). */
  onDamaged?: (error: QueueDamagedError) => void;
}

interface Handles {
  key: SessionKey;
  paths: QueuePaths;
  inbound: InboundWriter;
  outbound: OutboundReader;
  /** The writer's connection, for the reads the contract's writer does not offer (backlog, open work). */
  status: Database;
  /** What callers get: the two handles guarded by the session's lease. */
  guardedInbound: InboundWriter;
  guardedOutbound: OutboundReader;
  /** The seq below which every inbound row is completed (see `countBacklog`); 0 until first counted. */
  backlogFloor: number;
}

/** Lazily provisioned, cached queue handles per session. */
export class SessionQueueStore implements SessionQueues, InboundTurns {
  #o: SessionQueueStoreOptions;
  #sessions = new Map<SessionId, Promise<Handles>>();
  #leases = new Map<SessionId, QueueLease>();
  #closed = false;

  constructor(options: SessionQueueStoreOptions) {
    this.#o = options;
  }

  /** Where session `sessionId`'s files live (throws for an unsafe id). */
  paths(sessionId: SessionId): QueuePaths {
    const paths = sessionQueuePaths(this.#o.root, sessionId);
    return withOutboundDir(paths, outboundHomeOf(paths.outboundDir));
  }

  /** The session's queue key (provisioning the session first). */
  async sessionKey(sessionId: SessionId): Promise<SessionKey> {
    return (await this.#open(sessionId)).key;
  }

  /**
   * The session's queue lease: the lock the host and its agent take turns
   * on. One per session for the life of the store (throws for an unsafe id).
   */
  lease(sessionId: SessionId): QueueLease {
    let lease = this.#leases.get(sessionId);
    if (!lease) {
      // The id is checked once, with the lease it gets (not an lstat and readlink of its outbound at every turn).
      sessionQueuePaths(this.#o.root, sessionId);
      lease = new QueueLease({ capMs: this.#o.leaseCapMs });
      this.#leases.set(sessionId, lease);
    }
    return lease;
  }

  /** The inbound writer, in a host turn: use it right after the `await`. */
  async inboundWriter(sessionId: SessionId): Promise<InboundWriter> {
    const handles = await this.#open(sessionId);
    await this.lease(sessionId).hold();
    return handles.guardedInbound;
  }

  /** The outbound reader, in a host turn: use it right after the `await`. */
  async outboundReader(sessionId: SessionId): Promise<OutboundReader> {
    const handles = await this.#open(sessionId);
    await this.lease(sessionId).hold();
    return handles.guardedOutbound;
  }

  /**
   * Runs `fn` synchronously in a host turn on the session's inbound queue,
   * with its writer and a backlog count (see `src/session/backlog.ts`): a
   * count and the write it decides happen with nothing in between.
   */
  async inboundTurn<T>(sessionId: SessionId, fn: (turn: InboundTurn) => T): Promise<T> {
    const handles = await this.#open(sessionId);
    await this.lease(sessionId).hold();
    return fn({
      writer: handles.guardedInbound,
      backlog: () => {
        const counted = countBacklog(handles.status, handles.backlogFloor, nowTimestamp());
        handles.backlogFloor = counted.floor;
        return counted.backlog;
      },
      has: (id) => handles.status.get("SELECT 1 AS found FROM messages_in WHERE id = ?", [id]) !== undefined,
    });
  }

  /** True when the session's files exist on disk (without provisioning them). */
  isProvisioned(sessionId: SessionId): boolean {
    try {
      Deno.statSync(this.paths(sessionId).outbound);
      return true;
    } catch {
      return false;
    }
  }

  /** Re-copies the agent group's destinations into every open session of that group. */
  async refreshDestinations(agentGroupId: string): Promise<void> {
    const destinations = this.#destinations(agentGroupId);
    for (const session of this.#o.registry.listSessions(agentGroupId)) {
      const handles = this.#sessions.get(session.id);
      if (!handles) continue;
      const { inbound } = await handles;
      await this.lease(session.id).hold();
      inbound.syncDestinations(destinations);
    }
  }

  /**
   * Moves inbound rows forward to what the agent acknowledged (`queued` or
   * `scheduled` → `processing` → `completed`), never backward. Returns how
   * many rows changed.
   */
  async advanceStatuses(sessionId: SessionId, acks: readonly StatusAck[]): Promise<number> {
    if (acks.length === 0) return 0;
    return (await this.inboundWriter(sessionId)).advanceStatuses(acks);
  }

  /**
   * Ids of the session's inbound rows not completed yet: the ones whose
   * acknowledgements are still to mirror. Read without the lease, like
   * {@link hasOpenWork}.
   */
  async openMessageIds(sessionId: SessionId): Promise<string[]> {
    const { status } = await this.#open(sessionId);
    return status.all<{ id: string }>(
      "SELECT id FROM messages_in WHERE status IN ('queued', 'scheduled', 'processing') ORDER BY seq",
    ).map((r) => r.id);
  }

  /**
   * Whether the session's inbound holds work its agent has not taken up: a
   * queued triggering message, or a queued task that is due. After a restart
   * these sessions are woken, or their messages would wait for the next one.
   * (A row the agent answered just before a crash may still read `queued`;
   * waking it is harmless, the agent skips what it already answered.)
   */
  async hasUnansweredWork(sessionId: SessionId, now: Timestamp = nowTimestamp()): Promise<boolean> {
    const { status } = await this.#open(sessionId);
    await this.lease(sessionId).hold();
    return status.get(
      `SELECT 1 AS pending FROM messages_in WHERE status = 'queued'
         AND ("trigger" = 1 OR (process_after IS NOT NULL AND process_after <= ?)) LIMIT 1`,
      [now],
    ) !== undefined;
  }

  /**
   * Whether the session has work waiting or in progress: a queued triggering
   * message or due task, or a row its agent is processing. Read without the
   * lease (only the host writes inbound), so asking never waits for a turn.
   */
  async hasOpenWork(sessionId: SessionId, now: Timestamp = nowTimestamp()): Promise<boolean> {
    const { status } = await this.#open(sessionId);
    return status.get(
      `SELECT 1 AS open FROM messages_in WHERE status = 'processing'
         OR (status = 'queued' AND ("trigger" = 1 OR (process_after IS NOT NULL AND process_after <= ?))) LIMIT 1`,
      [now],
    ) !== undefined;
  }

  /** Closes a session's handles (after its deletion); the next use reopens them. */
  async forget(sessionId: SessionId): Promise<void> {
    const handles = this.#sessions.get(sessionId);
    this.#sessions.delete(sessionId);
    if (handles) closeHandles(await handles.catch(() => undefined));
  }

  /** Closes every handle; later calls fail. */
  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#sessions.values()];
    this.#sessions.clear();
    for (const lease of this.#leases.values()) lease.dispose();
    this.#leases.clear();
    for (const handles of all) closeHandles(await handles.catch(() => undefined));
  }

  #open(sessionId: SessionId): Promise<Handles> {
    if (this.#closed) return Promise.reject(new Error("session queues are closed"));
    let handles = this.#sessions.get(sessionId);
    if (!handles) {
      handles = this.#provision(sessionId).catch((err) => {
        throw this.#damaged(sessionId, err);
      });
      this.#sessions.set(sessionId, handles);
      handles.catch(() => {
        if (this.#sessions.get(sessionId) === handles) this.#sessions.delete(sessionId);
      });
    }
    return handles;
  }

  async #provision(sessionId: SessionId): Promise<Handles> {
    const session = this.#o.registry.getSession(sessionId);
    const key = await this.#o.keys.getOrCreate(sessionKeyId(sessionId));
    const lease = this.lease(sessionId);
    // Provisioning opens (and may roll back) both files: in a host turn, like every other host transaction.
    const home = await this.#o.outboundHome?.(sessionId, session.agentGroupId);
    await lease.hold();
    if (home !== undefined) homeOutbound(sessionQueuePaths(this.#o.root, sessionId).outboundDir, home);
    const opts = { library: this.#o.library, key };
    const paths = provisionSession(this.#o.root, sessionId, {
      ...opts,
      outboundDir: home,
      sandboxUid: this.#o.sandboxUid,
      sandboxGid: this.#o.sandboxGid,
    });
    const opened: { close(): void }[] = [];
    try {
      const status = openWriter(paths.inbound, opts);
      opened.push(status);
      const inbound = inboundWriterOn(status);
      const outbound = openOutboundReader(paths.outbound, opts);
      opened.push(outbound);
      const chat = this.#o.registry.getMessagingGroup(session.messagingGroupId);
      // One commit, not three: a new conversation's first reply waits on this (it is redone at every open).
      inbound.transaction(() => {
        inbound.setSessionRouting({
          channelType: chat.channelType,
          platformId: chat.platformId,
          threadId: session.threadId,
        });
        inbound.syncDestinations(this.#destinations(session.agentGroupId));
        if (this.#o.tasks) inbound.syncTasks(this.#o.tasks.rows(sessionId));
      });
      return {
        key,
        paths,
        inbound,
        outbound,
        status,
        guardedInbound: guardInboundWriter(inbound, lease, paths.inbound),
        guardedOutbound: guardOutboundReader(outbound, lease, paths.outbound),
        backlogFloor: 0,
      };
    } catch (err) {
      for (const o of opened.reverse()) o.close();
      throw err;
    }
  }

  /** A corruption-class failure as a {@link QueueDamagedError} (reported); anything else as it is. */
  #damaged(sessionId: SessionId, err: unknown): unknown {
    if (!isCorruption(err)) return err;
    const path = err instanceof SqliteError ? err.path : this.paths(sessionId).dir;
    const damaged = new QueueDamagedError(sessionId, path, { cause: err });
    try {
      this.#o.onDamaged?.(damaged);
    } catch {
      // the report is best effort: the caller gets the error all the same
    }
    return damaged;
  }

  /** The registry's destinations of an agent group in the queue's named form. */
  #destinations(agentGroupId: string): QueueDestination[] {
    const taken = new Set<string>();
    // An agent destination must name a valid group id, or the agent's reader would reject the whole list.
    const usable = this.#o.registry.listDestinations(agentGroupId)
      .filter((d) => d.channelType !== AGENT_CHANNEL || isSafeId(d.platformId));
    return usable.map((d) => {
      const agent = d.channelType === AGENT_CHANNEL;
      const base = agent ? d.platformId : `${d.channelType}:${d.platformId}`;
      let name = base;
      for (let n = 2; taken.has(name.toLowerCase()); n++) name = `${base}~${n}`;
      taken.add(name.toLowerCase());
      const target = agent && this.#o.registry.hasAgentGroup(d.platformId)
        ? this.#o.registry.getAgentGroup(d.platformId).name
        : null;
      return {
        name: name.slice(0, 512),
        displayName: d.displayName ?? target,
        type: agent ? "agent" : "channel",
        channelType: agent ? null : d.channelType,
        platformId: agent ? null : d.platformId,
        agentGroupId: agent ? d.platformId as QueueDestination["agentGroupId"] : null,
      };
    });
  }
}

function closeHandles(handles: Handles | undefined): void {
  if (!handles) return;
  handles.inbound.close(); // and `status`, its connection
  handles.outbound.close();
}
