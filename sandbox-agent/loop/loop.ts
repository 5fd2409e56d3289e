/**
 * The agent loop. Each poll reads the due inbound messages, buffers the new
 * ones, and engages when something asks for an answer: a triggering
 * message, a slash command, a due scheduled task, a retry, or the first
 * poll after start (which drains any backlog). An engagement answers slash
 * commands locally, sends the rest as one prompt with the conversation
 * history, runs the tool loop, and writes the reply, then the system
 * actions the tools produced. Every privileged wish leaves as a `system`
 * row: nothing here can apply anything.
 *
 * Every touch of the queue files happens inside a {@link QueueLease} turn
 * the host grants: a few synchronous statements each, never across a model
 * or tool call, so the host waits on the agent for milliseconds at most.
 * A turn's writes commit as one outbound transaction ({@link AgentLoop}'s
 * `#atomically`): one journal and one round of fsyncs per turn rather than
 * per statement, and a turn that fails leaves neither the file nor the
 * loop's memory half-updated.
 *
 * The engage turn sends the model request before it commits the batch's
 * `processing` acknowledgement: the commit's fsyncs then run while the host
 * and the model work, not in front of them. Nothing the model answers is
 * acted on before that commit is durable, and a failed commit fails the turn
 * (the call is aborted, its answer discarded, the batch kept for the retry).
 *
 * @module
 */
import { systemActionName } from "../../contract/actions.ts";
import { newMessageId } from "../../contract/ids.ts";
import { MODEL_BUDGET_ERROR } from "../../contract/sockets.ts";
import { CorruptionStreakError } from "../../contract/queue/mod.ts";
import type { InboundReader, OutboundWriter } from "../../contract/queue/sandbox.ts";
import type { Destination, MessageIn, NewMessageOut, SessionRouting } from "../../contract/rows.ts";
import {
  type Block,
  type ConverseOptions,
  type Message,
  type ModelClient,
  ModelError,
  textOf,
  userText,
} from "../model/mod.ts";
import type { Logger } from "../log.ts";
import type { Jail, McpTools, Mounts, OutboundChat, ToolContext, ToolRegistry } from "../tools/mod.ts";
import { ModelBreaker } from "./backoff.ts";
import type { Doorbell } from "./doorbell.ts";
import type { Heartbeat } from "./heartbeat.ts";
import { type QueueLease, type ReleaseNote, unleased } from "./lease.ts";
import {
  appendExchange,
  type Exchange,
  HISTORY_LIMITS,
  type HistoryLimits,
  historyMessages,
} from "./history.ts";
import { formatPrompt } from "./prompt.ts";
import { sleep } from "./sleep.ts";
import { isResetCommand, isSlashCommand, runSlashCommand } from "./slash.ts";
import { StateStore } from "./state.ts";

/** Most model calls in one engagement: a model still calling tools after this many is an error. */
export const MAX_MODEL_TURNS = 8;

/**
 * The longest the engage turn waits for its model request to be written
 * before it commits anyway (a first call still loading its SDK): the lease
 * is held meanwhile, so the host is kept out no longer than this.
 */
export const SEND_WAIT_MS = 50;

/** What the loop works with. */
export interface LoopOptions {
  inbound: InboundReader;
  outbound: OutboundWriter;
  model: ModelClient;
  tools: ToolRegistry;
  systemPrompt: string;
  workspace: Jail;
  memory: Jail;
  /** The approved mounts (absent: none). */
  mounts?: Mounts;
  persona: string;
  /** A `fetch` to the host's egress broker, for the web tools. */
  egress?: typeof fetch;
  /** The host's MCP broker: the granted MCP tools join `tools` for each answer. */
  mcp?: Pick<McpTools, "list">;
  heartbeat: Heartbeat;
  log: Logger;
  /** Fallback poll interval, also the heartbeat interval and the backoff base. */
  pollMs: number;
  /** Wakes the loop early (without one it polls on its timer); rings the host when no lease release can. */
  doorbell?: Doorbell;
  /** The host's queue lease around every queue transaction; without one queue calls run at once. */
  lease?: QueueLease;
  maxModelTurns?: number;
  breaker?: ModelBreaker;
  historyLimits?: HistoryLimits;
}

/** What one poll did. */
export type PollOutcome = "idle" | "accumulating" | "engaged";

/** One model answer after its tool calls. */
interface Answer {
  text: string;
  /** Absent when the model was not reached (a spent budget): the history is left as it was. */
  exchange?: Exchange;
  actions: string[];
}

/**
 * The model turn, or, when the proxy refused it over the group's daily
 * budget, the proxy's notice as the answer: final for this turn (retrying
 * cannot succeed before the reset), so the conversation hears why at once.
 */
async function respondOrBudgetNotice(respond: () => Promise<Answer>, log: Logger): Promise<Answer> {
  try {
    return await respond();
  } catch (err) {
    if (!(err instanceof ModelError) || err.kind !== MODEL_BUDGET_ERROR.type) throw err;
    log.warn("model.budget_spent", { status: err.status });
    return { text: err.message, actions: [] };
  }
}

/** An engagement opened in the poll's lease turn: the batch, its prompts for the model and its commands. */
interface Engagement {
  batch: MessageIn[];
  prompts: MessageIn[];
  commands: MessageIn[];
  routing: SessionRouting | undefined;
  /** A `/reset` in the batch: no model call, the prompts are completed unanswered. */
  reset: boolean;
}

/** An engagement's model answer, asked in the engage turn before its commit. */
interface Asking {
  /** Settles once the request is written, the call has ended, or {@link SEND_WAIT_MS} passed. */
  sent: Promise<void>;
  answer: Promise<Answer>;
  /** The engage commit is durable: the answer may be acted on. */
  acknowledged(): void;
  /** The engage commit failed: the call is aborted and its answer discarded; settles once the call has ended. */
  abandon(): Promise<void>;
}

/** The agent loop. */
export class AgentLoop {
  #o: LoopOptions;
  #lease: QueueLease;
  #store: StateStore;
  #breaker: ModelBreaker;
  #buffer: MessageIn[] = [];
  #done = new Set<string>();
  #history: Exchange[] = [];
  #restored = false;
  #firstPoll = true;
  /** Set while an engagement's model turn has failed and must be retried. */
  #retry = false;
  /** Outbound rows written in this lease turn, for its release to announce. */
  #unannounced = false;

  constructor(options: LoopOptions) {
    this.#o = options;
    this.#lease = options.lease ?? unleased(options.doorbell);
    this.#store = new StateStore(options.outbound, options.log);
    this.#breaker = options.breaker ?? new ModelBreaker({ baseMs: options.pollMs });
  }

  /**
   * Restores what the last agent left, once, in the first poll's lease turn:
   * the history from the store; what it was answering and what it had
   * answered from its own acknowledgements, which each turn commits with its
   * writes (a message acknowledged `processing` and not `completed` was
   * being answered; `completed` was answered, even if the host still lists it
   * as pending). `pending` is the poll's read of inbound.
   */
  #restore(pending: readonly MessageIn[]): void {
    if (this.#restored) return;
    const { history, legacy } = this.#store.load();
    const candidates = new Map<string, MessageIn>();
    for (const m of [...legacy.buffer, ...this.#o.inbound.engagedMessages(), ...pending]) {
      candidates.set(m.id, m);
    }
    const acks = new Map(
      this.#o.outbound.processingAcks([...candidates.keys()]).map((a) => [a.messageId, a.status]),
    );
    this.#done = new Set([
      ...legacy.doneIds,
      ...[...acks].filter(([, s]) => s === "completed").map(([id]) => id),
    ]);
    const wasBuffered = new Set(legacy.buffer.map((m) => m.id));
    this.#buffer = [...candidates.values()]
      .filter((m) => !this.#done.has(m.id) && (acks.get(m.id) === "processing" || wasBuffered.has(m.id)))
      .sort((a, b) => a.seq - b.seq);
    this.#history = history;
    this.#restored = true;
    this.#o.log.info("state.restored", {
      buffered: this.#buffer.length,
      done: this.#done.size,
      history: this.#history.length,
    });
  }

  /** Polls until `signal` aborts. A corruption streak ends the loop by throwing. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let waitMs = this.#o.pollMs;
      let bellWakes = true;
      try {
        await this.poll();
        if (this.#breaker.success()) this.#o.log.info("model.recovered");
      } catch (err) {
        if (err instanceof CorruptionStreakError) throw err;
        if (err instanceof ModelError) {
          const { delayMs, opened } = this.#breaker.failure();
          this.#o.log.warn("model.failed", {
            kind: err.kind,
            status: err.status,
            failures: this.#breaker.failures,
            retry_ms: Math.round(delayMs),
          });
          if (opened) this.#o.log.error("model.breaker_open", { failures: this.#breaker.failures });
          // A backoff is not cut short by the bell: new messages must not hammer a failing provider.
          waitMs = delayMs;
          bellWakes = false;
        } else {
          this.#o.log.error("poll.failed", { error: err instanceof Error ? err.name : "unknown" });
        }
      }
      await this.#idle(waitMs, bellWakes, signal);
    }
  }

  /** One poll. Throws a {@link ModelError} when an engagement's model turn fails (the batch is kept). */
  async poll(): Promise<PollOutcome> {
    // The heartbeat is written beside the poll's lease turn, not in front of it.
    const beat = this.#o.heartbeat.beatInBackground();
    try {
      return await this.#poll();
    } finally {
      await beat;
    }
  }

  async #poll(): Promise<PollOutcome> {
    const first = this.#firstPoll;
    // One lease turn reads inbound and, when the batch engages, opens the engagement too (marks it
    // processing, reads the routing, answers slash commands): a lease round trip fewer per turn. The
    // first poll's turn also restores the saved state, so a start takes no turn of its own for it. Its
    // inbound reads are one read transaction: one lock and one check for the host's writes, not one per read.
    const begun = await this.#lease.run(async () => {
      const opened = this.#o.inbound.read((): "idle" | "accumulating" | Engagement => {
        const pending = this.#o.inbound.pendingMessages();
        this.#restore(pending);
        // Done ids no longer pending can never return (the host only adds rows); forgetting them bounds the set.
        const pendingIds = new Set<string>(pending.map((m) => m.id));
        for (const id of this.#done) if (!pendingIds.has(id)) this.#done.delete(id);
        const buffered = new Set(this.#buffer.map((m) => m.id));
        const fresh = pending.filter((m) => !this.#done.has(m.id) && !buffered.has(m.id));
        if (fresh.length === 0 && this.#buffer.length === 0) return "idle";
        const engage = first || this.#retry || this.#buffer.some(engages) || fresh.some(engages);
        // Buffered, not engaged messages stay queued in inbound, so a restarted agent reads them again:
        // nothing to write until the batch engages.
        this.#buffer.push(...fresh);
        return engage ? this.#open() : "accumulating";
      });
      if (opened === "idle" || opened === "accumulating") return opened;
      // The model request goes out first; the engage commit's fsyncs then overlap the host's and the model's work.
      const asking = opened.reset || opened.prompts.length === 0 ? undefined : this.#ask(opened);
      await asking?.sent;
      try {
        this.#atomically(() => this.#begin(opened));
      } catch (err) {
        await asking?.abandon();
        throw err;
      }
      asking?.acknowledged();
      return { ...opened, asking };
    }, (begun) => this.#note(typeof begun === "string" || begun.prompts.length === 0));
    this.#firstPoll = false;
    if (begun === "idle" || begun === "accumulating") return begun;
    await this.#engage(begun);
    return "engaged";
  }

  /** Opens an engagement of the whole buffer, in the poll's inbound read. */
  #open(): Engagement {
    const batch = [...this.#buffer];
    const commands = batch.filter((m) => isSlashCommand(m.content));
    return {
      batch,
      prompts: batch.filter((m) => !isSlashCommand(m.content)),
      commands,
      routing: this.#routing(),
      reset: commands.some((m) => isResetCommand(m.content)),
    };
  }

  /** Writes an engagement's start in the poll's lease turn: the batch is processing, the commands answered. */
  #begin({ batch, commands, routing }: Engagement): void {
    this.#o.log.info("engage", { count: batch.length, ids: batch.map((m) => m.id) });
    this.#o.outbound.markProcessing(batch.map((m) => m.id));
    for (const m of commands) {
      const result = runSlashCommand(m.content, {
        toolNames: this.#o.tools.names,
        buffered: batch.length,
        historyExchanges: this.#history.length,
      });
      if (result.reset) {
        this.#history = [];
        this.#store.saveHistory([]);
        this.#store.markReset();
      }
      this.#writeChat(result.reply, m.id, routing);
    }
    // Commands are answered once, even if the model turn below fails and is retried.
    this.#complete(commands);
  }

  /** Starts the model turn for an engagement's prompts; its answer waits for {@link Asking.acknowledged}. */
  #ask({ prompts, routing }: Engagement): Asking {
    const sent = Promise.withResolvers<void>();
    const acknowledged = Promise.withResolvers<void>();
    // Awaited by the answer; an abandoned one ends with the aborted call, so nothing else waits on it.
    acknowledged.promise.catch(() => {});
    const abort = new AbortController();
    const answer = respondOrBudgetNotice(
      () =>
        this.#respond(formatPrompt(prompts), routing, {
          signal: abort.signal,
          onSent: sent.resolve,
          acknowledged: acknowledged.promise,
        }),
      this.#o.log,
    );
    const settle = () => sent.resolve();
    answer.then(settle, settle);
    const timer = setTimeout(settle, SEND_WAIT_MS);
    return {
      sent: sent.promise.finally(() => clearTimeout(timer)),
      answer,
      acknowledged: acknowledged.resolve,
      abandon: async () => {
        acknowledged.reject(new Error("the engage commit failed"));
        abort.abort();
        await answer.then(() => {}, () => {});
      },
    };
  }

  async #engage({ prompts, routing, asking }: Engagement & { asking?: Asking }): Promise<void> {
    if (asking) {
      this.#retry = true;
      const answer = await asking.answer;
      const replyTo = prompts.findLast((m) => m.kind === "chat") ?? prompts[prompts.length - 1];
      await this.#lease.run(() =>
        this.#atomically(() => {
          if (answer.text) {
            this.#writeChat(answer.text, replyTo.id, routing);
            this.#o.log.info("reply", { in_reply_to: replyTo.id, bytes: byteLength(answer.text) });
          } else {
            this.#o.log.info("reply.empty", { in_reply_to: replyTo.id });
          }
          for (const action of answer.actions) {
            this.#write({ kind: "system", content: action, ...routingFields(routing) });
            this.#o.log.info("system_action", {
              action: systemActionName(action),
              bytes: byteLength(action),
            });
          }
          if (answer.exchange) {
            this.#history = appendExchange(
              this.#history,
              answer.exchange,
              this.#o.historyLimits ?? HISTORY_LIMITS,
            );
            this.#store.saveHistory(this.#history);
          }
          this.#complete(prompts);
        }), () => this.#note(true));
    } else if (prompts.length > 0) {
      await this.#lease.run(() => this.#atomically(() => this.#complete(prompts)), () => this.#note(true));
    }
    this.#retry = false;
  }

  /**
   * Runs the model and its tool calls until it answers without calling a
   * tool. The first request's `onSent` tells the engage turn it may commit;
   * no answer is acted on before `acknowledged` (that commit) settles.
   */
  async #respond(
    prompt: string,
    routing: SessionRouting | undefined,
    callOptions: Required<ConverseOptions> & { acknowledged: Promise<void> },
  ): Promise<Answer> {
    const ask = userText(prompt);
    const exchange: Message[] = [ask];
    const messages: Message[] = [...historyMessages(this.#history), ask];
    const actions: string[] = [];
    const destinations = new DestinationSnapshot();
    const ctx = this.#toolContext(routing, destinations);
    const registry = await this.#answerTools();
    const tools = registry.specs();
    const maxTurns = this.#o.maxModelTurns ?? MAX_MODEL_TURNS;
    // The model may take minutes: keep the heartbeat fresh meanwhile.
    const beating = setInterval(() => this.#o.heartbeat.beat(), this.#o.pollMs);
    try {
      for (let turn = 1; turn <= maxTurns; turn++) {
        const reply = await this.#o.model.converse({
          system: this.#o.systemPrompt,
          messages: [...messages],
          tools,
        }, turn === 1 ? callOptions : { signal: callOptions.signal });
        await callOptions.acknowledged;
        const assistant: Message = { role: "assistant", content: reply.content };
        exchange.push(assistant);
        messages.push(assistant);
        const calls = reply.content.filter((b) => b.type === "tool_use");
        if (calls.length === 0) return { text: textOf(reply.content).trim(), exchange, actions };
        // Tools read destinations synchronously: read them in a lease turn before the calls.
        await this.#lease.run(() => destinations.refresh(() => this.#o.inbound.destinations()));
        const results: Block[] = [];
        for (const call of calls) {
          const result = await registry.call(call.name, call.input, ctx);
          const content = result.ok ? result.output.text : result.error;
          this.#o.log.info("tool", { tool: call.name, ok: result.ok, bytes: byteLength(content) });
          if (result.ok && result.output.message) {
            const message = result.output.message;
            await this.#lease.run(() => this.#writeToolMessage(message), () => this.#note(false));
          }
          if (result.ok && result.output.action) actions.push(result.output.action);
          results.push({
            type: "tool_result",
            tool_use_id: call.id,
            content,
            ...(result.ok ? {} : { is_error: true }),
          });
        }
        const toolResults: Message = { role: "user", content: results };
        exchange.push(toolResults);
        messages.push(toolResults);
      }
      throw new ModelError(`the model was still calling tools after ${maxTurns} turns`, "tool_loop_limit");
    } finally {
      clearInterval(beating);
    }
  }

  /** The built-in tools plus, when there is a broker, the MCP tools granted now. */
  async #answerTools(): Promise<ToolRegistry> {
    if (!this.#o.mcp) return this.#o.tools;
    try {
      const { tools, skipped } = await this.#o.mcp.list();
      if (skipped.length) this.#o.log.warn("mcp.skipped", { count: skipped.length });
      return this.#o.tools.with(tools);
    } catch (err) {
      // The answer goes ahead with the built-in tools: MCP is an extra, not a precondition.
      this.#o.log.warn("mcp.unlisted", { error: err instanceof Error ? err.message : String(err) });
      return this.#o.tools;
    }
  }

  #toolContext(routing: SessionRouting | undefined, destinations: DestinationSnapshot): ToolContext {
    return {
      workspace: this.#o.workspace,
      memory: this.#o.memory,
      mounts: this.#o.mounts,
      persona: this.#o.persona,
      egress: this.#o.egress,
      destinations: () => destinations.get(),
      routing: () => routing,
    };
  }

  #routing(): SessionRouting | undefined {
    try {
      return this.#o.inbound.sessionRouting();
    } catch (err) {
      this.#o.log.warn("routing.unreadable", { error: err instanceof Error ? err.name : "unknown" });
      return undefined;
    }
  }

  /**
   * Runs `fn` (a lease turn's writes) as one outbound transaction. When it
   * throws, the transaction rolls back and so does what `fn` changed in the
   * loop's memory (buffer, done ids, history, the pending ring): the next poll
   * sees exactly what the file says, and retries.
   */
  #atomically<T>(fn: () => T): T {
    const saved = {
      buffer: [...this.#buffer],
      done: new Set(this.#done),
      history: this.#history,
      unannounced: this.#unannounced,
    };
    try {
      return this.#store.transaction(fn);
    } catch (err) {
      this.#buffer = saved.buffer;
      this.#done = saved.done;
      this.#history = saved.history;
      this.#unannounced = saved.unannounced;
      throw err;
    }
  }

  /** Marks messages completed (the acknowledgement is what a restarted agent reads) and done, and drops them from the buffer. */
  #complete(messages: readonly MessageIn[]): void {
    if (messages.length === 0) return;
    const ids = messages.map((m) => m.id);
    this.#o.outbound.markCompleted(ids);
    for (const id of ids) this.#done.add(id);
    const finished = new Set(ids);
    this.#buffer = this.#buffer.filter((m) => !finished.has(m.id));
  }

  #writeChat(content: string, inReplyTo: string, routing: SessionRouting | undefined): void {
    this.#write({ kind: "chat", content, inReplyTo, ...routingFields(routing) });
  }

  #writeToolMessage(message: OutboundChat): void {
    const { content, ...target } = message;
    this.#write({ kind: "chat", content, ...target });
    this.#o.log.info("tool_message", { channel: target.channelType, bytes: byteLength(content) });
  }

  #write(row: Omit<NewMessageOut, "id">): void {
    this.#o.outbound.writeMessageOut({ id: newMessageId("out"), ...row });
    this.#unannounced = true;
  }

  /**
   * What a lease turn's release tells the host: the rows it wrote (the ring,
   * so the release is the outbound ring), and whether the loop waits for the
   * bell next (`idle`: no model or tool call before its next poll), so the
   * host's next ring may grant the lease with it.
   */
  #note(idle: boolean): ReleaseNote {
    const outbound = this.#unannounced;
    this.#unannounced = false;
    return { outbound, idle };
  }

  /** Waits `ms` (or until the bell, when `bellWakes`), beating the heartbeat at the poll interval. */
  async #idle(ms: number, bellWakes: boolean, signal: AbortSignal): Promise<void> {
    const end = Date.now() + ms;
    while (!signal.aborted) {
      const slice = Math.min(end - Date.now(), this.#o.pollMs);
      if (slice <= 0) return;
      const rang = this.#o.doorbell
        ? await this.#o.doorbell.wait(slice, signal)
        : (await sleep(slice, signal), false);
      if ((rang && bellWakes) || Date.now() >= end) return;
      this.#o.heartbeat.beat();
    }
  }
}

/** The destinations as last read from inbound; a failed read is rethrown to the tool that asks. */
class DestinationSnapshot {
  #value: Destination[] = [];
  #error: unknown;

  refresh(read: () => Destination[]): void {
    try {
      this.#value = read();
      this.#error = undefined;
    } catch (err) {
      this.#error = err;
    }
  }

  get(): Destination[] {
    if (this.#error !== undefined) throw this.#error;
    return this.#value;
  }
}

/** True when a buffered message asks for an answer now. */
function engages(m: MessageIn): boolean {
  return m.trigger !== 0 || m.processAfter !== null || isSlashCommand(m.content);
}

function routingFields(routing: SessionRouting | undefined) {
  return {
    channelType: routing?.channelType ?? null,
    platformId: routing?.platformId ?? null,
    threadId: routing?.threadId ?? null,
  };
}

function byteLength(text: string): number {
  return new TextEncoder().encode(text).length;
}
