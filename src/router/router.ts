/**
 * The router: one message from a chat becomes one outcome per wiring of that
 * chat, in priority order. For each wiring it decides whether the message
 * engages the agent, whether the sender may reach the agent at all (their
 * grants, else the chat's unknown-sender policy), and then writes the message
 * into the conversation's session (engaging: trigger 1 and a wake;
 * accumulating: trigger 0, no wake) or drops it.
 *
 * Unknown senders (no role, no membership) are handled by the chat's policy:
 * `strict` drops the message with a warning; `request_approval` files a
 * gateway `permissions` change adding the sender as a member of the agent,
 * which a human decides (one request per sender and agent, however many
 * messages they send), and drops the message meanwhile; `public` lets the
 * message through, unless the wiring accepts known senders only.
 *
 * A session whose queue file is damaged (not a database, corrupt) cannot take
 * the message: that wiring's outcome is `queue-damaged`, naming the session
 * and the file, the damage is reported to `onQueueDamaged` (the control plane
 * parks the session, visibly), and the other wirings are routed as usual.
 *
 * Once the message is durably queued the route answers: the session's wake
 * is under way but a sandbox start (seconds under load) is not waited for.
 *
 * Back-pressure: through the {@link BacklogGate}, a session whose agent has not
 * answered the cap of inbound messages yet takes no more (that wiring's
 * outcome is `backlog-full`, naming the session and its backlog). When that
 * leaves the message queued nowhere, {@link Router.route} throws the
 * {@link SessionBacklogFullError}, so the channel can answer "retry later"
 * (the HTTP API: 429 with `Retry-After`).
 *
 * @module
 */
import {
  type AgentGroupId,
  newMessageId,
  type SessionId,
  type UserId,
  type WiringId,
} from "../../contract/ids.ts";
import type { ChangeRecord } from "../../contract/gateway.ts";
import type { NewMessageIn } from "../../contract/rows.ts";
import { logger } from "../log/mod.ts";
import { BoundedMemo } from "../memo/mod.ts";
import type { Counter, MetricsRegistry } from "../metrics/mod.ts";
import {
  type Access,
  type MessagingGroup,
  namespaceUserId,
  type Registry,
  type Wiring,
} from "../registry/mod.ts";
import type { SubmitInput } from "../gateway/mod.ts";
import { stableId } from "../idempotent/mod.ts";
import {
  type BacklogGate,
  isQueueDamage,
  QueueDamagedError,
  SessionBacklogFullError,
  type SessionWaker,
} from "../session/mod.ts";
import { SqliteError } from "../../contract/sqlite/mod.ts";
import { EngageModeError, evaluateEngage } from "./engage.ts";

/** A message as a channel reports it. */
export interface InboundEvent {
  /** The channel (`slack`, `web`, …): the namespace of the sender's id. */
  channelType: string;
  /** The chat on that channel. */
  platformId: string;
  /** Which account of the channel received it (default: the channel type). */
  instance?: string;
  /** Whether the chat is a group (used when the chat is first seen). */
  isGroup?: boolean;
  threadId?: string | null;
  /** The sender as the channel names them; cut at its first `:` (anti-spoofing). */
  senderHandle: string;
  text: string;
  /** Whether the message mentions the agent. */
  mentioned?: boolean;
  /**
   * For a message that brings files: called once for each session the
   * message is written to (engaged or accumulated), after routing resolved
   * it and before its row is written and the session woken; returns the
   * content written there instead of `text` (the channel has put the files
   * in that session's workspace and names them). Never called for a sender
   * the policy drops. A throw fails the routing, as a failed queue write does.
   */
  contentFor?: (target: RoutedSession) => Promise<string>;
}

/** The session a message is being written to, as {@link InboundEvent.contentFor} is told. */
export interface RoutedSession {
  sessionId: SessionId;
  agentGroupId: AgentGroupId;
  engaged: boolean;
}

/** Why a wiring did what it did. */
export type OutcomeKind =
  | "engaged"
  | "accumulated"
  | "not-engaged"
  | "access-denied"
  | "approval-requested"
  | "sender-scope"
  | "engage-error"
  | "invalid-sender"
  | "already-routed"
  | "queue-damaged"
  | "backlog-full";

/** What one wiring did with the message. */
export interface RoutingOutcome {
  wiringId: WiringId;
  agentGroupId: AgentGroupId;
  /** The session written to (engaged or accumulated), else null. */
  sessionId: SessionId | null;
  engaged: boolean;
  kind: OutcomeKind;
  /** One line for people and logs. */
  reason: string;
  /** The inbound row written, if any. */
  messageId?: string;
  /** The access request filed for an unknown sender, if any. */
  changeId?: string;
  /**
   * Set when the message was queued but waking the session failed before any
   * sandbox start (a parked session); it is picked up later. The wake does
   * not wait for a start: one that fails is told to the chat and retried.
   */
  wakeError?: string;
}

/** The whole routing of one message. */
export interface RouteResult {
  messagingGroupId: MessagingGroup["id"];
  /** The namespaced sender, or null when the handle was unusable. */
  senderId: UserId | null;
  outcomes: RoutingOutcome[];
}

/** The gateway as the router uses it. */
export interface AccessRequests {
  submit(input: SubmitInput): Promise<ChangeRecord>;
}

/** What the router is built from. */
export interface RouterDeps {
  registry: Registry;
  waker: SessionWaker;
  /** Where `request_approval` chats file access requests. */
  gateway: AccessRequests;
  metrics: MetricsRegistry;
  /** Told when a session's queue file is found damaged (the message is not queued); parks the session. */
  onQueueDamaged: (error: QueueDamagedError) => void;
  /** The per-session backlog cap; the router writes each message through it. */
  backlog: BacklogGate;
}

/** Chats (with their wirings) and senders' access the router remembers at most, each (then it reads them again). */
const MAX_REMEMBERED = 4096;

/** Routes channel messages to agents. */
export class Router {
  #d: RouterDeps;
  #log = logger("router");
  #outcomes: Counter;
  /**
   * Each chat's messaging group and wirings, and each sender's access to an
   * agent group, as read at their last message: every registry write (a
   * wiring, a member, a role, an agent group changed) forgets them all, so a
   * revoked access or a deleted wiring holds from the next message on.
   */
  #chats = new BoundedMemo<string, { chat: MessagingGroup; wirings: Wiring[] }>(MAX_REMEMBERED);
  #access = new BoundedMemo<string, Access>(MAX_REMEMBERED);

  constructor(deps: RouterDeps) {
    this.#d = deps;
    this.#outcomes = deps.metrics.counter(
      "ironclaw_router_outcomes_total",
      "Routing outcomes per wiring, by kind.",
    );
    deps.registry.onWrite(() => {
      this.#chats.clear();
      this.#access.clear();
    });
  }

  /**
   * Routes one message. A damaged queue, a full backlog and a failed wake
   * are reported in their outcomes. Throws {@link SessionBacklogFullError}
   * when a session the message was for is at its backlog cap and the
   * message was queued nowhere; else throws only when a queue write fails
   * for another reason (nothing after it is attempted).
   */
  async route(event: InboundEvent): Promise<RouteResult> {
    const { chat, wirings } = this.#chatOf(event);
    let sender: UserId;
    try {
      sender = namespaceUserId(event.channelType, event.senderHandle);
    } catch (err) {
      const reason = `invalid-sender: ${err instanceof Error ? err.message : String(err)}`;
      this.#log.warn("dropped a message with an unusable sender on {channel} {platform}", {
        channel: event.channelType,
        platform: event.platformId,
      });
      const outcomes = wirings.map((w) => this.#outcome(w, "invalid-sender", reason));
      return { messagingGroupId: chat.id, senderId: null, outcomes };
    }
    const written = new Set<SessionId>();
    const full: SessionBacklogFullError[] = [];
    const outcomes: RoutingOutcome[] = [];
    for (const wiring of wirings) {
      outcomes.push(await this.#routeWiring(event, chat, wiring, sender, written, full));
    }
    // Queued nowhere because of back-pressure: the sender must hear "retry later", not a silent drop.
    if (full.length > 0 && written.size === 0) throw full[0];
    return { messagingGroupId: chat.id, senderId: sender, outcomes };
  }

  /** The event's messaging group (made when new) and its wirings, read once until the next registry write. */
  #chatOf(event: InboundEvent): { chat: MessagingGroup; wirings: Wiring[] } {
    const key = `${event.channelType}\n${event.platformId}\n${event.instance ?? ""}`;
    return this.#chats.get(key, () => {
      const { registry } = this.#d;
      const chat = registry.getOrCreateMessagingGroup({
        channelType: event.channelType,
        platformId: event.platformId,
        instance: event.instance,
        isGroup: event.isGroup ?? false,
      });
      return { chat, wirings: registry.listWiringsForMessagingGroup(chat.id) };
    });
  }

  /** `sender`'s access to `agentGroupId`, read once until the next registry write. */
  #accessOf(sender: UserId, agentGroupId: string): Access {
    return this.#access.get(
      `${sender}\n${agentGroupId}`,
      () => this.#d.registry.canAccess(sender, agentGroupId),
    );
  }

  async #routeWiring(
    event: InboundEvent,
    chat: MessagingGroup,
    wiring: Wiring,
    sender: UserId,
    written: Set<SessionId>,
    full: SessionBacklogFullError[],
  ): Promise<RoutingOutcome> {
    const { registry } = this.#d;
    const threadId = event.threadId || null;
    let engaged: boolean;
    try {
      engaged = evaluateEngage({
        mode: wiring.engageMode,
        pattern: wiring.engagePattern,
        text: event.text,
        mentioned: event.mentioned ?? false,
        hasSession: () =>
          registry.findSession(wiring.agentGroupId, chat.id, threadId, wiring.sessionMode) !== undefined,
      });
    } catch (err) {
      if (!(err instanceof EngageModeError)) throw err;
      return this.#outcome(wiring, "engage-error", `engage-eval-error: ${err.message}`);
    }

    const access = this.#accessOf(sender, wiring.agentGroupId);
    if (!access.allowed) {
      const denied = await this.#unknownSender(chat, wiring, sender, engaged);
      if (denied) return denied;
    }
    if (wiring.senderScope === "known" && !access.allowed) {
      return this.#outcome(wiring, "sender-scope", "sender-scope: unknown sender for known-only wiring");
    }
    if (!engaged && wiring.ignoredMessagePolicy !== "accumulate") {
      return this.#outcome(wiring, "not-engaged", "not-engaged: dropped");
    }

    const session = registry.resolveSession(wiring.agentGroupId, chat.id, threadId, wiring.sessionMode);
    if (written.has(session.id)) {
      return {
        ...this.#outcome(wiring, "already-routed", "already-routed: a higher-priority wiring wrote it"),
        sessionId: session.id,
      };
    }
    // A second person in a one-person session: its sandbox has the first one's memory, and must not read this.
    if (
      registry.noteSender(session.id, sender) &&
      registry.getAgentGroup(wiring.agentGroupId).memoryPartition === "user"
    ) {
      await this.#d.waker.stop?.(session.id);
    }
    const { backlog } = this.#d;
    const admission = { engaging: engaged, channel: event.channelType };
    if (event.contentFor) {
      // Refused before the channel stores any file for it: a flood of attachments must not fill the disk either.
      try {
        await backlog.check(session.id, admission);
      } catch (err) {
        if (err instanceof SessionBacklogFullError) return this.#backlogFull(wiring, err, full);
        if (!isQueueDamage(err)) throw err;
        return { ...this.#damaged(wiring, session.id, err), sessionId: session.id };
      }
    }
    // The channel's files go into this session's workspace before the row naming them, and the wake.
    const content = event.contentFor
      ? await event.contentFor({ sessionId: session.id, agentGroupId: wiring.agentGroupId, engaged })
      : event.text;
    const message: NewMessageIn = {
      id: newMessageId("in"),
      kind: "chat",
      status: "queued",
      trigger: engaged ? 1 : 0,
      platformId: event.platformId,
      channelType: event.channelType,
      threadId,
      content,
    };
    let row: { id: string };
    try {
      row = await backlog.write(session.id, admission, (writer) => writer.writeMessageIn(message));
    } catch (err) {
      if (err instanceof SessionBacklogFullError) return this.#backlogFull(wiring, err, full);
      if (!isQueueDamage(err)) throw err;
      return { ...this.#damaged(wiring, session.id, err), sessionId: session.id };
    }
    written.add(session.id);
    if (!engaged) {
      return {
        ...this.#outcome(wiring, "accumulated", "accumulated (trigger=0)"),
        sessionId: session.id,
        messageId: row.id,
      };
    }
    const outcome: RoutingOutcome = {
      ...this.#outcome(wiring, "engaged", "engaged (trigger=1)"),
      sessionId: session.id,
      engaged: true,
      messageId: row.id,
    };
    try {
      // The message is durable now: its sender is answered without waiting for a sandbox start (seconds under load).
      const { waker } = this.#d;
      await (waker.wakeSoon ? waker.wakeSoon(session.id) : waker.wake(session.id));
    } catch (err) {
      outcome.wakeError = err instanceof Error ? err.message : String(err);
      this.#log.warn("message {messageId} is queued but session {sessionId} did not wake: {error}", {
        messageId: row.id,
        sessionId: session.id,
        error: outcome.wakeError,
      });
    }
    return outcome;
  }

  /** Applies the chat's unknown-sender policy; undefined lets the message through. */
  async #unknownSender(
    chat: MessagingGroup,
    wiring: Wiring,
    sender: UserId,
    engaged: boolean,
  ): Promise<RoutingOutcome | undefined> {
    const policy = chat.unknownSenderPolicy;
    if (policy === "public") return undefined;
    if (policy === "request_approval" && engaged) {
      const changeId = await stableId("chg", "unknown-sender", wiring.agentGroupId, sender);
      const record = await this.#d.gateway.submit({
        id: changeId,
        kind: "permissions",
        agentGroupId: wiring.agentGroupId,
        requestedBy: `router:${sender}`.slice(0, 200),
        after: { addMembers: [sender] },
      });
      this.#log.info(
        "unknown sender {sender} asked to reach agent {agentGroupId}: change {changeId} is {status}",
        {
          sender,
          agentGroupId: wiring.agentGroupId,
          changeId,
          status: record.status,
        },
      );
      return {
        ...this.#outcome(
          wiring,
          "approval-requested",
          `approval-requested: change ${changeId} (${record.status})`,
        ),
        changeId,
      };
    }
    this.#log.warn(
      "dropped a message from unknown sender {sender} to agent {agentGroupId} on {channel} {platform} ({policy}); " +
        "admit them with: ironclaw registry add-member --user {sender} --agent {agentGroupId}",
      {
        sender,
        agentGroupId: wiring.agentGroupId,
        channel: chat.channelType,
        platform: chat.platformId,
        policy,
      },
    );
    return this.#outcome(wiring, "access-denied", "access-denied: no-access");
  }

  /** The outcome for a session at its backlog cap; `full` collects the refusal for `route` to throw. */
  #backlogFull(
    wiring: Wiring,
    err: SessionBacklogFullError,
    full: SessionBacklogFullError[],
  ): RoutingOutcome {
    full.push(err);
    return {
      ...this.#outcome(wiring, "backlog-full", `backlog-full: ${err.message}`),
      sessionId: err.sessionId,
    };
  }

  /** The outcome for a session whose queue file is damaged; reports it (to be parked). */
  #damaged(wiring: Wiring, sessionId: SessionId, err: unknown): RoutingOutcome {
    const damaged = err instanceof QueueDamagedError
      ? err
      : new QueueDamagedError(sessionId, err instanceof SqliteError ? err.path : "", { cause: err });
    this.#log.error("message to session {sessionId} refused: {error}", { sessionId, error: damaged.message });
    try {
      this.#d.onQueueDamaged(damaged);
    } catch (report) {
      this.#log.warn("reporting the damaged queue of session {sessionId} failed: {error}", {
        sessionId,
        error: String(report),
      });
    }
    return this.#outcome(
      wiring,
      "queue-damaged",
      `queue-damaged: ${damaged.message}; the session is parked until an operator repairs or removes the file`,
    );
  }

  #outcome(wiring: Wiring, kind: OutcomeKind, reason: string): RoutingOutcome {
    this.#outcomes.inc({ kind });
    return {
      wiringId: wiring.id,
      agentGroupId: wiring.agentGroupId,
      sessionId: null,
      engaged: false,
      kind,
      reason,
    };
  }
}
