/**
 * The web chat channel (`web`): the console's conversation with an agent.
 * {@link WebChat.send} feeds a message through the router like any channel
 * message, from `web:<handle>`; delivery hands the agent's replies to
 * {@link WebChat.deliver}, which keeps them per conversation until the
 * console drains them ({@link WebChat.drain}); a drain may wait for the next
 * reply, so a client long-polls instead of asking in a loop. One object
 * sends, delivers and drains.
 *
 * The outbox is durable: a reply is committed to the state database's
 * `web_chat_outbox` table before `deliver` returns, that is before delivery
 * marks the outbound row delivered, so a crash loses no accepted reply. The
 * insert is keyed by the outbound row's id and ignores a row already there,
 * so a redelivery after a crash (accepted here, not yet marked delivered)
 * never shows a reply twice; delivery counts on it ({@link WebChat.dedupsById})
 * and commits the delivered marks of web replies lazily, a second's worth at
 * once. A drain returns the waiting replies without removing them: each
 * carries a cursor (`seq`), and only a client's
 * acknowledgement ({@link WebChat.acknowledge}, the API's `after=`) removes
 * a reply, so one handed to a client that died before showing it (Ctrl-C
 * during a long poll) is still there for the next. An acknowledged reply's
 * content is deleted at once; its id is kept a day (the guard against
 * redelivery), then pruned. Only the waits live in memory.
 *
 * Past {@link WEB_CHAT_BUFFER} undrained replies in one conversation the
 * adapter refuses the reply ({@link WebChatFullError}): nothing is dropped,
 * delivery holds the row in the session's outbound queue and retries it on a
 * later pass, after the console drained.
 *
 * @module
 */
import type { AgentGroupId } from "../../contract/ids.ts";
import type { Database } from "../../contract/sqlite/mod.ts";
import { nowTimestamp, type Timestamp } from "../../contract/time.ts";
import type { ChannelAdapter, ChannelMessage } from "../delivery/mod.ts";
import type { Registry } from "../registry/mod.ts";
import type { Router, RouteResult } from "../router/mod.ts";
import { stableId } from "../idempotent/mod.ts";
import { NotFoundError, type StateDb } from "../state/mod.ts";

/** The channel type of the web chat. */
export const WEB_CHANNEL = "web";

/** Undrained replies kept per conversation; past it, replies are refused (delivery retries them later). */
export const WEB_CHAT_BUFFER = 200;

/** The longest a drain may wait for a reply. */
export const MAX_DRAIN_WAIT_MS = 30_000;

/** How long a drained reply's id is kept to ignore a redelivery of it. */
export const DRAINED_KEEP_MS = 24 * 60 * 60 * 1000;

/** The conversation holds its capacity of undrained replies: the reply is not taken (retry after a drain). */
export class WebChatFullError extends Error {
  override name = "WebChatFullError";
  constructor(readonly conversationId: string, readonly capacity: number) {
    super(
      `web chat ${conversationId} holds ${capacity} undrained replies; the reply waits until the console drains`,
    );
  }
}

/** One reply waiting for the console. */
export interface WebChatItem {
  /** The reply's cursor: acknowledging up to it removes it and every earlier one. */
  seq: number;
  id: string;
  conversationId: string;
  threadId: string | null;
  content: string;
  timestamp: Timestamp;
}

/** How long a drain may wait for a reply. */
export interface WebChatDrainOptions {
  /** Wait up to this many ms when no reply is waiting (default 0: answer at once). */
  waitMs?: number;
  /** Ends the wait early (the client that asked went away). */
  signal?: AbortSignal;
}

/** A message from the console. */
export interface WebChatSend {
  agentGroupId: string;
  text: string;
  /** Who is typing, as a handle on the `web` channel (default `console`). */
  senderHandle?: string;
  /** Which conversation with the agent (default: the agent group id, one conversation per agent). */
  conversationId?: string;
}

/** What a send did. */
export interface WebChatSent {
  conversationId: string;
  /** True when some wiring engaged the agent. */
  engaged: boolean;
  outcomes: RouteResult["outcomes"];
}

/** What the web chat is built from. */
export interface WebChatDeps {
  registry: Registry;
  router: Pick<Router, "route">;
  /** Where the outbox lives (table `web_chat_outbox`). */
  state: StateDb;
  /** Undrained replies kept per conversation (default {@link WEB_CHAT_BUFFER}). */
  capacity?: number;
}

type OutboxRow = {
  seq: number;
  id: string;
  conversation_id: string;
  thread_id: string | null;
  content: string;
  timestamp: string;
};

/** The web chat: router input, adapter output, a durable per-conversation outbox with waiting drains. */
export class WebChat implements ChannelAdapter {
  readonly name = WEB_CHANNEL;
  /** A reply is kept by its outbound id a day after it was drained: a redelivery is ignored. */
  readonly dedupsById = true;
  #d: WebChatDeps;
  #db: Database;
  #waiters = new Map<string, Set<() => void>>();
  #closed = false;
  /** Conversations known open, so a send does not look them up again; any registry write forgets them. */
  #open = new Set<string>();

  constructor(deps: WebChatDeps) {
    this.#d = deps;
    this.#db = deps.state.db;
    // A deleted agent, chat or wiring must be seen (and the wiring made again) at the next send.
    deps.registry.onWrite(() => this.#open.clear());
  }

  /**
   * Opens the conversation when new: its chat (channel `web`, strict
   * unknown-sender policy) and a wiring to the agent that engages on every
   * message (mention mode; every console message is a mention). An existing
   * wiring is left as the operator configured it. Throws `NotFoundError` for
   * an unknown agent. A conversation opened here is not looked up again until
   * the next registry write.
   */
  async ensureConversation(agentGroupId: string, conversationId = agentGroupId): Promise<string> {
    const known = `${agentGroupId}\n${conversationId}`;
    if (this.#open.has(known)) return conversationId;
    const { registry } = this.#d;
    if (!registry.hasAgentGroup(agentGroupId)) throw new NotFoundError("agent group", agentGroupId);
    const chat = registry.getOrCreateMessagingGroup({
      channelType: WEB_CHANNEL,
      platformId: conversationId,
      instance: WEB_CHANNEL,
    });
    const wiringId = await stableId("wr_web", agentGroupId, conversationId);
    try {
      registry.getWiring(wiringId);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      registry.putWiring({
        id: wiringId,
        messagingGroupId: chat.id,
        agentGroupId: agentGroupId as AgentGroupId,
        engageMode: "mention",
        senderScope: "known",
        sessionMode: "shared",
        priority: 1,
      });
    }
    this.#open.add(known);
    return conversationId;
  }

  /** Sends a console message through the router (as a mention). */
  async send(input: WebChatSend): Promise<WebChatSent> {
    const conversationId = await this.ensureConversation(input.agentGroupId, input.conversationId);
    const result = await this.#d.router.route({
      channelType: WEB_CHANNEL,
      platformId: conversationId,
      instance: WEB_CHANNEL,
      senderHandle: input.senderHandle ?? "console",
      text: input.text,
      mentioned: true,
    });
    return { conversationId, engaged: result.outcomes.some((o) => o.engaged), outcomes: result.outcomes };
  }

  /**
   * Commits a reply to its conversation's outbox (the adapter side). A reply
   * already there (same outbound id, drained or not) is not added again.
   * Throws {@link WebChatFullError} when the conversation holds its capacity
   * of undrained replies, so delivery keeps the row and retries it later.
   * Wakes the drains waiting on the conversation.
   */
  deliver(message: ChannelMessage): Promise<string | null> {
    const capacity = this.#d.capacity ?? WEB_CHAT_BUFFER;
    const db = this.#db;
    try {
      this.#accept(db, message, capacity);
    } catch (err) {
      return Promise.reject(err);
    }
    this.#wake(message.platformId);
    return Promise.resolve(message.id);
  }

  #accept(db: Database, message: ChannelMessage, capacity: number): void {
    // FULL: on disk before a drain hands it out, and its fsync takes the turn's usage count and ack along.
    this.#d.state.commit(() => {
      if (db.get("SELECT 1 AS known FROM web_chat_outbox WHERE id = ?", [message.id])) return;
      const waiting = db.get<{ n: number }>(
        "SELECT count(*) AS n FROM web_chat_outbox WHERE conversation_id = ? AND drained_at IS NULL",
        [message.platformId],
      )?.n ?? 0;
      if (waiting >= capacity) throw new WebChatFullError(message.platformId, capacity);
      db.run(
        `INSERT INTO web_chat_outbox (id, conversation_id, thread_id, content, timestamp, delivered_at)
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
        [
          message.id,
          message.platformId,
          message.threadId,
          message.content,
          message.timestamp,
          nowTimestamp(),
        ],
      );
    });
  }

  /**
   * The conversation's unacknowledged replies, oldest first (they stay until
   * {@link acknowledge}d). With none waiting, waits up to `waitMs` (capped at
   * {@link MAX_DRAIN_WAIT_MS}) for the next one, or until `signal` aborts (the
   * client went away); an empty list means none came in time.
   */
  async drain(conversationId: string, options: WebChatDrainOptions = {}): Promise<WebChatItem[]> {
    const ready = this.#waiting(conversationId);
    const wait = Math.min(Math.max(0, options.waitMs ?? 0), MAX_DRAIN_WAIT_MS);
    const { signal } = options;
    if (ready.length > 0 || wait === 0 || this.#closed || signal?.aborted) return ready;
    await new Promise<void>((resolve) => {
      const waiters = this.#waiters.get(conversationId) ?? new Set();
      this.#waiters.set(conversationId, waiters);
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        waiters.delete(done);
        if (waiters.size === 0 && this.#waiters.get(conversationId) === waiters) {
          this.#waiters.delete(conversationId);
        }
        resolve();
      };
      const timer = setTimeout(done, wait);
      signal?.addEventListener("abort", done);
      waiters.add(done);
    });
    return this.#waiting(conversationId);
  }

  /**
   * A client has shown the conversation's replies up to cursor `throughSeq`:
   * they are removed (content deleted now, the id kept a day against
   * redelivery), and ids acknowledged over a day ago are pruned. Committed
   * without an fsync of its own (it survives a kill -9 of the host and goes
   * to disk with the next reply's): a power cut just after could only show
   * those replies again to a client that does not send its cursor.
   */
  acknowledge(conversationId: string, throughSeq: number): void {
    const db = this.#db;
    const now = nowTimestamp();
    this.#d.state.writeSoon(() => {
      db.run(
        `UPDATE web_chat_outbox SET drained_at = ?, content = ''
         WHERE conversation_id = ? AND seq <= ? AND drained_at IS NULL`,
        [now, conversationId, throughSeq],
      );
      const horizon = new Date(Date.parse(now) - DRAINED_KEEP_MS).toISOString();
      db.run("DELETE FROM web_chat_outbox WHERE conversation_id = ? AND drained_at < ?", [
        conversationId,
        horizon,
      ]);
    });
  }

  /** Ends every wait (they return what is there); later drains do not wait. */
  close(): void {
    this.#closed = true;
    for (const conversationId of [...this.#waiters.keys()]) this.#wake(conversationId);
  }

  #wake(conversationId: string): void {
    for (const done of [...this.#waiters.get(conversationId) ?? []]) done();
  }

  /** The conversation's unacknowledged replies, oldest first. */
  #waiting(conversationId: string): WebChatItem[] {
    return this.#db.all<OutboxRow>(
      `SELECT seq, id, conversation_id, thread_id, content, timestamp FROM web_chat_outbox
       WHERE conversation_id = ? AND drained_at IS NULL ORDER BY seq`,
      [conversationId],
    ).map((r) => ({
      seq: r.seq,
      id: r.id,
      conversationId: r.conversation_id,
      threadId: r.thread_id,
      content: r.content,
      timestamp: r.timestamp as Timestamp,
    }));
  }
}
