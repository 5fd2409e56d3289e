/**
 * Delivery: the host's reading of every session's outbound queue.
 *
 * Each row is handled once, durably: when handling succeeds (or is refused
 * for good) its id is marked in the session's inbound `delivered` table, and
 * rows marked there are never handled again, across restarts. A row whose
 * handling fails for a reason that may pass (a channel down, a destination
 * not yet permitted) stays unmarked and is tried again on the next pass.
 * A row for a channel that itself ignores a message it already took (the
 * web chat) is marked lazily, with the others of the next second in one
 * commit: a crash before that commit hands it to the channel again, which
 * ignores it, so nothing is lost or shown twice.
 *
 * - `system` rows are requests to the host: `schedule_task` and task
 *   management (carried out by {@link TaskActions}; a management answer comes
 *   back to the session as a message), `ask_user_question` (question store),
 *   informational no-ops, and everything else a gateway change requested by
 *   `sandbox:<sid>`, never executed here.
 * - rows to channel `agent` go to another agent group's sessions, within the
 *   sender's destinations ({@link AgentSends} does the rest: the hop limit,
 *   the group's rate, each target session's backlog cap, the wakes).
 * - other rows go to their channel's adapter, if the target is the session's
 *   own chat or a permitted destination.
 *
 * Passes run when signalled (the doorbell's outbound ring, or `notify`),
 * with a slow fallback poll for lost signals. Along the way the sandbox's
 * processing acknowledgements are mirrored into the inbound rows' statuses.
 *
 * @module
 */
import {
  AskUserRequest,
  type ChangeKind,
  type MessageOut,
  parseSystemAction,
  type SessionId,
} from "../../contract/mod.ts";
import type { DueBatch, InboundWriter, OutboundReader, StatusAck } from "../../contract/queue/mod.ts";
import { controlCharacterPath, createdAgentId } from "../gateway/mod.ts";
import { logger } from "../log/mod.ts";
import { InvalidInputError, NotFoundError } from "../state/mod.ts";
import type { Counter, MetricsRegistry } from "../metrics/mod.ts";
import type { Registry, Session } from "../registry/mod.ts";
import type { AccessRequests } from "../router/mod.ts";
import { stableId } from "../idempotent/mod.ts";
import { KeyedLock, Pacer } from "../async/mod.ts";
import type { TaskStore } from "../scheduling/mod.ts";
import type { QuestionStore } from "../questions/mod.ts";
import { AGENT_CHANNEL, type BacklogGate, type SessionQueues, type SessionWaker } from "../session/mod.ts";
import type { ChannelAdapters, ChannelMessage } from "./adapter.ts";
import type { A2aLimitOptions } from "./a2a_limits.ts";
import { AgentSends } from "./agent_sends.ts";
import { firstIssue, type Handled, parseJsonObject, Refused, type RowOutcome, tellAgent } from "./outcome.ts";
import { extractAfter, routeAction, statedReason } from "./system_actions.ts";
import { TaskActions, type TaskSync } from "./task_actions.ts";

/** Which inbound rows may still take an acknowledgement (see `SessionQueueStore.openMessageIds`). */
export interface InboundStatusMirror {
  /** Ids of the session's inbound rows not completed yet. */
  openMessageIds(sessionId: SessionId): Promise<string[]>;
}

/** What delivery is built from. */
export interface DeliveryDeps {
  registry: Registry;
  queues: SessionQueues;
  waker: SessionWaker;
  adapters: ChannelAdapters;
  gateway: AccessRequests;
  tasks: TaskStore;
  scheduler: TaskSync;
  questions: QuestionStore;
  statuses: InboundStatusMirror;
  metrics: MetricsRegistry;
  a2a?: A2aLimitOptions;
  /** The per-session backlog cap agent-to-agent sends respect. */
  backlog: BacklogGate;
  /** Fallback poll interval when no signal arrives (default 30 s). */
  fallbackMs?: number;
}

/** What a pass over one session did. */
export interface SessionPass {
  sessionId: SessionId;
  handled: { id: string; outcome: RowOutcome; detail?: string }[];
  /** Rows left for the next pass, with why. */
  retry: { id: string; error: string }[];
  /** Rows that failed validation (reported once per process). */
  invalid: number;
  /** Inbound rows whose status moved. */
  statusesAdvanced: number;
}

/** A row's resolved destination. */
interface Target {
  channelType: string;
  platformId: string;
  threadId: string | null;
  permitted: boolean;
}

interface SessionMemory {
  /** The reader this memory is of: a reopened queue (a restored file) starts it afresh. */
  reader: OutboundReader;
  delivered: Set<string>;
  invalidSeen: Set<string>;
  /** Acknowledgements mirrored so far, of rows not completed yet. */
  acks: Map<string, string>;
  retryLogged: Set<string>;
  /** Every row up to this seq is handled for good: a pass reads only the rows after it. */
  floor: number;
  /** What waits for the session's next inbound commit: lazy delivered marks, acks not mirrored yet. */
  unsettled: { marks: DeliveredMark[]; acks: Map<string, StatusAck> };
}

/** A delivered mark to commit. */
interface DeliveredMark {
  id: string;
  platformMessageId: string | null;
}

/**
 * The longest the delivered marks of a channel that ignores a message it
 * already took (`ChannelAdapter.dedupsById`: the web chat) wait, to be
 * committed together: one inbound commit for every reply of a busy second
 * instead of one each.
 */
export const LAZY_MARK_MS = 1_000;

/** Reads outbound queues and carries each row out once. */
export class Delivery {
  #d: DeliveryDeps;
  #log = logger("delivery");
  #tasks: TaskActions;
  #agents: AgentSends;
  #memory = new Map<SessionId, SessionMemory>();
  #locks = new KeyedLock<SessionId>();
  #dirty = new Set<SessionId>();
  #lastFull = 0;
  #fallbackMs: number;
  #pacer: Pacer;
  #settleTimer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #deliveries: Counter;
  #rows: Counter;

  constructor(deps: DeliveryDeps) {
    this.#d = deps;
    this.#tasks = new TaskActions(deps);
    this.#agents = new AgentSends(deps);
    this.#fallbackMs = deps.fallbackMs ?? 30_000;
    this.#deliveries = deps.metrics.counter("ironclaw_deliveries_total", "Messages delivered to channels.");
    this.#rows = deps.metrics.counter("ironclaw_outbound_rows_total", "Outbound rows handled, by outcome.");
    this.#pacer = new Pacer({
      run: () => this.#pass(),
      fallbackMs: this.#fallbackMs,
      onError: (err) => this.#log.error("delivery pass failed: {error}", { error: String(err) }),
    });
  }

  /** Starts the background loop: a full pass at once, then on signals (fallback polling). */
  start(): void {
    this.#stopped = false;
    this.#pacer.start();
  }

  /** Stops the loop after the pass in progress, and commits the marks that wait. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#pacer.stop();
    clearTimeout(this.#settleTimer);
    this.#settleTimer = undefined;
    await this.#settleWaiting();
  }

  /** Signals that `sessionId` (or, without one, any session) has new outbound rows. */
  notify(sessionId?: SessionId): void {
    if (sessionId) this.#dirty.add(sessionId);
    else this.#lastFull = 0;
    this.#pacer.kick();
  }

  /** One pass over every session in the registry; a broken session is reported and skipped. */
  async deliverAll(): Promise<SessionPass[]> {
    this.#lastFull = Date.now();
    this.#dirty.clear();
    const passes: SessionPass[] = [];
    for (const session of this.#d.registry.listSessions()) {
      try {
        passes.push(await this.deliverSession(session.id));
      } catch (err) {
        this.#log.warn("session {sessionId} skipped this pass: {error}", {
          sessionId: session.id,
          error: String(err),
        });
      }
    }
    return passes;
  }

  /** One pass over one session's outbound queue (serialised per session). */
  deliverSession(sessionId: SessionId): Promise<SessionPass> {
    return this.#locks.run(sessionId, () => this.#deliverSession(sessionId));
  }

  async #pass(): Promise<void> {
    if (Date.now() - this.#lastFull >= this.#fallbackMs) {
      await this.deliverAll();
      return;
    }
    const dirty = [...this.#dirty];
    this.#dirty.clear();
    for (const sessionId of dirty) {
      try {
        await this.deliverSession(sessionId);
      } catch (err) {
        this.#log.warn("session {sessionId} skipped this pass: {error}", { sessionId, error: String(err) });
      }
    }
  }

  async #deliverSession(sessionId: SessionId): Promise<SessionPass> {
    const session = this.#d.registry.getSession(sessionId);
    const open = await this.#d.statuses.openMessageIds(sessionId);
    const reader = await this.#d.queues.outboundReader(sessionId);
    const writer = await this.#d.queues.inboundWriter(sessionId);
    const memory = this.#remember(sessionId, { reader, writer });
    const pass: SessionPass = { sessionId, handled: [], retry: [], invalid: 0, statusesAdvanced: 0 };

    const batch = reader.dueMessages(memory.floor);
    // Read with the rows; mirrored in the next inbound commit (a delivered mark's, or alone after the pass).
    for (const ack of reader.processingAcks(open)) {
      if (memory.acks.get(ack.messageId) !== ack.status) memory.unsettled.acks.set(ack.messageId, ack);
    }
    for (const bad of batch.invalid) {
      pass.invalid++;
      const key = `${bad.seq}:${bad.id}`;
      if (memory.invalidSeen.has(key)) continue;
      memory.invalidSeen.add(key);
      this.#log.warn("session {sessionId} wrote an invalid outbound row (seq {seq}): {error}", {
        sessionId,
        seq: bad.seq,
        error: bad.error,
      });
    }
    for (const message of batch.messages) {
      if (memory.delivered.has(message.id)) continue;
      try {
        const handled = await this.#handle(session, message);
        const mark = { id: message.id, platformMessageId: handled.platformMessageId ?? null };
        if (handled.markLazily) {
          memory.unsettled.marks.push(mark);
          this.#settleSoon();
        } else {
          // A fresh host turn on the queues: the agent may have taken its lease while the row was handled.
          pass.statusesAdvanced += this.#settle(await this.#d.queues.inboundWriter(sessionId), memory, mark);
        }
        memory.delivered.add(message.id);
        memory.retryLogged.delete(message.id);
        this.#rows.inc({ outcome: handled.outcome });
        pass.handled.push({ id: message.id, outcome: handled.outcome, detail: handled.detail });
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        pass.retry.push({ id: message.id, error });
        if (!memory.retryLogged.has(message.id)) {
          memory.retryLogged.add(message.id);
          this.#log.warn("outbound {messageId} of session {sessionId} is held for retry: {error}", {
            messageId: message.id,
            sessionId,
            error,
          });
        }
      }
    }
    if (memory.unsettled.marks.length === 0 && memory.unsettled.acks.size > 0) {
      pass.statusesAdvanced += this.#settle(await this.#d.queues.inboundWriter(sessionId), memory);
    }
    memory.floor = nextFloor(memory.floor, batch, memory.delivered);
    return pass;
  }

  /**
   * One inbound transaction: `mark` (a handled row's delivered mark), the
   * lazy marks that wait, and the acknowledgements not mirrored yet. The
   * mirror is derived data (the agent's acks stay in outbound and are read
   * again after a restart), so it may share any commit. Returns how many
   * statuses moved.
   */
  #settle(writer: InboundWriter, memory: SessionMemory, mark?: DeliveredMark): number {
    const marks = [...memory.unsettled.marks, ...(mark ? [mark] : [])];
    const acks = [...memory.unsettled.acks.values()];
    const moved = writer.transaction(() => {
      for (const m of marks) writer.markDelivered(m.id, m.platformMessageId);
      return writer.advanceStatuses(acks);
    });
    memory.unsettled = { marks: [], acks: new Map() };
    for (const a of acks) {
      if (a.status === "completed") memory.acks.delete(a.messageId);
      else memory.acks.set(a.messageId, a.status);
    }
    return moved;
  }

  /** Commits the lazy marks within {@link LAZY_MARK_MS}. */
  #settleSoon(): void {
    this.#settleTimer ??= setTimeout(() => {
      this.#settleTimer = undefined;
      void this.#settleWaiting();
    }, LAZY_MARK_MS);
  }

  /** Commits every session's waiting marks and acks; a session that fails keeps them for the next try. */
  async #settleWaiting(): Promise<void> {
    for (const [sessionId, memory] of this.#memory) {
      if (memory.unsettled.marks.length === 0 && memory.unsettled.acks.size === 0) continue;
      try {
        await this.#locks.run(sessionId, async () => {
          this.#settle(await this.#d.queues.inboundWriter(sessionId), memory);
        });
      } catch (err) {
        // A session deleted meanwhile has no queue to mark any more.
        if (err instanceof NotFoundError) {
          this.#memory.delete(sessionId);
          continue;
        }
        this.#log.warn("the delivered marks of session {sessionId} wait for the next try: {error}", {
          sessionId,
          error: String(err),
        });
        if (!this.#stopped) this.#settleSoon();
      }
    }
  }

  #remember(sessionId: SessionId, queues: { reader: OutboundReader; writer: InboundWriter }): SessionMemory {
    let memory = this.#memory.get(sessionId);
    if (!memory || memory.reader !== queues.reader) {
      memory = {
        reader: queues.reader,
        delivered: queues.writer.deliveredIds(),
        invalidSeen: new Set(),
        acks: new Map(),
        retryLogged: new Set(),
        floor: 0,
        unsettled: { marks: [], acks: new Map() },
      };
      this.#memory.set(sessionId, memory);
    }
    return memory;
  }

  /** Handles one row; throws to leave it for the next pass. A {@link Refused} ends it for good. */
  async #handle(session: Session, message: MessageOut): Promise<Handled> {
    try {
      if (message.kind === "system") return await this.#system(session, message);
      const target = this.#target(session, message);
      if (target.channelType === AGENT_CHANNEL) {
        if (!target.permitted) throw new Error(`destination not permitted: agent ${target.platformId}`);
        return await this.#agents.send(session, { message, to: target.platformId });
      }
      return await this.#deliver(session, message, target);
    } catch (err) {
      if (!(err instanceof Refused)) throw err;
      this.#log.warn("outbound {messageId} of session {sessionId} refused: {error}", {
        messageId: message.id,
        sessionId: session.id,
        error: err.message,
      });
      if (err.tellAgent) {
        await tellAgent(this.#d.queues, {
          sessionId: session.id,
          messageId: message.id,
          content: `The host refused your request: ${err.message}`,
        });
      }
      return { outcome: "refused", detail: err.message };
    }
  }

  // ── System actions ──────────────────────────────────────────────────────

  async #system(session: Session, message: MessageOut): Promise<Handled> {
    const envelope = parseSystemAction(message.content);
    const route = routeAction(envelope.action);
    switch (route.type) {
      case "schedule":
        return await this.#tasks.schedule(session, message);
      case "ask":
        return await this.#ask(session, message);
      case "task":
        return await this.#tasks.manage(session, {
          message,
          action: route.action,
          payload: envelope.payload,
        });
      case "informational":
        return { outcome: "ignored", detail: envelope.action || "(empty)" };
      case "privileged":
        return await this.#propose(session, message, route.kind);
    }
  }

  async #ask(session: Session, message: MessageOut): Promise<Handled> {
    const { questions } = this.#d;
    const parsed = AskUserRequest.safeParse(parseJsonObject(message.content));
    if (!parsed.success) throw new Refused(`ask_user_question: ${firstIssue(parsed.error)}`);
    const id = await stableId("q", session.id, message.id);
    let question;
    try {
      ({ question } = questions.record({
        id,
        sessionId: session.id,
        agentGroupId: session.agentGroupId,
        question: parsed.data.question,
        options: parsed.data.options,
        allowFreeform: parsed.data.allow_freeform,
      }));
    } catch (err) {
      if (err instanceof InvalidInputError) throw new Refused(`ask_user_question: ${err.message}`);
      throw err;
    }
    return { outcome: "asked", detail: question.id };
  }

  async #propose(session: Session, message: MessageOut, kind: ChangeKind): Promise<Handled> {
    const { gateway } = this.#d;
    const after = extractAfter(message.content);
    const controlAt = controlCharacterPath(after);
    if (controlAt) {
      throw new Refused(
        `change refused: ${
          ["after", ...controlAt].map(String).join(".")
        } holds a control character (not allowed)`,
      );
    }
    const rationale = statedReason(message.content);
    if (rationale !== undefined && controlCharacterPath(rationale)) {
      throw new Refused("change refused: reason holds a control character (not allowed)");
    }
    const agentGroupId = (kind === "create_agent" ? createdAgentId(after) : undefined) ??
      session.agentGroupId;
    const record = await gateway.submit({
      id: await stableId("chg", session.id, message.id),
      kind,
      agentGroupId,
      requestedBy: `sandbox:${session.id}`,
      rationale: rationale?.slice(0, 2000),
      after,
    });
    return { outcome: "submitted", detail: `${record.request.id} ${kind} ${record.status}` };
  }

  // ── Channels ────────────────────────────────────────────────────────────

  /**
   * Where a row goes: its own channel and platform, or the session's chat
   * when it names none; permitted when that is the session's chat or one of
   * the agent group's destinations.
   */
  #target(session: Session, message: MessageOut): Target {
    const { registry } = this.#d;
    const origin = registry.getMessagingGroup(session.messagingGroupId);
    const toOrigin = !message.channelType || !message.platformId;
    const channelType = toOrigin ? origin.channelType : message.channelType!;
    const platformId = toOrigin ? origin.platformId : message.platformId!;
    const permitted = (channelType === origin.channelType && platformId === origin.platformId) ||
      registry.checkDestination({ agentGroupId: session.agentGroupId, channelType, platformId });
    const threadId = toOrigin ? message.threadId ?? session.threadId : message.threadId;
    return { channelType, platformId, threadId, permitted };
  }

  async #deliver(session: Session, message: MessageOut, target: Target): Promise<Handled> {
    const { adapters } = this.#d;
    const { channelType, platformId, threadId, permitted } = target;
    if (!permitted) throw new Error(`destination not permitted: ${channelType} ${platformId}`);
    const adapter = adapters.get(channelType);
    if (!adapter) throw new Error(`no channel adapter for ${channelType}`);
    const out: ChannelMessage = {
      id: message.id,
      sessionId: session.id,
      agentGroupId: session.agentGroupId,
      kind: message.kind,
      channelType,
      platformId,
      threadId,
      inReplyTo: message.inReplyTo,
      content: message.content,
      timestamp: message.timestamp,
    };
    const platformMessageId = await adapter.deliver(out);
    this.#deliveries.inc({ channel: channelType });
    return {
      outcome: "delivered",
      platformMessageId: platformMessageId?.slice(0, 512) ?? null,
      markLazily: adapter.dedupsById === true,
    };
  }
}

/**
 * The seq after which the next pass reads: the last of the rows handled for
 * good (marked delivered) before the first that is not (held for retry,
 * invalid, or not due yet).
 */
function nextFloor(floor: number, batch: DueBatch, delivered: ReadonlySet<string>): number {
  let stop = batch.firstNotDueSeq ?? Infinity;
  for (const bad of batch.invalid) stop = Math.min(stop, bad.seq ?? -Infinity);
  for (const message of batch.messages) {
    if (message.seq >= stop || !delivered.has(message.id)) break;
    floor = message.seq;
  }
  return floor;
}
