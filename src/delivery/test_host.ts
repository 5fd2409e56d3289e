/**
 * Test fixture: the host's whole message path over one state directory,
 * with no sandbox. Tests play the agent through the sandbox-side queue API
 * ({@link HostFixture.agent}), and reopen everything on the same directory
 * to check what survives a restart.
 *
 * @module
 */
import type { SessionId } from "../../contract/ids.ts";
import type { MessageIn } from "../../contract/rows.ts";
import { nowTimestamp, type Timestamp } from "../../contract/time.ts";
import { openInboundReader, openOutboundWriter } from "../../contract/queue/sandbox.ts";
import type { InboundReader, OutboundWriter } from "../../contract/queue/mod.ts";
import { AUDIT_LOG_FILE, AuditLog } from "../audit/mod.ts";
import { captureBefore, Gateway, registryApplier, standardVerifiers } from "../gateway/mod.ts";
import { KeyCustodian } from "../keys/mod.ts";
import { MetricsRegistry } from "../metrics/mod.ts";
import { QuestionDesk, QuestionStore } from "../questions/mod.ts";
import { Registry } from "../registry/mod.ts";
import { Router } from "../router/mod.ts";
import { Scheduler, TaskStore } from "../scheduling/mod.ts";
import { SessionQueueStore } from "../session/queues.ts";
import { BacklogGate } from "../session/backlog.ts";
import type { SessionWaker } from "../session/types.ts";
import { ChangeStore, type StateDb } from "../state/mod.ts";
import { LIBRARY } from "../../tests/support/mod.ts";
import { openTestState } from "../../tests/support/state.ts";
import { type ChannelAdapter, ChannelAdapters, type ChannelMessage } from "./adapter.ts";
import { Delivery, type DeliveryDeps } from "./delivery.ts";

/** Records wakes; can be told to fail. */
export class RecordingWaker implements SessionWaker {
  readonly wakes: SessionId[] = [];
  failWith: Error | undefined;

  wake(sessionId: SessionId): Promise<void> {
    this.wakes.push(sessionId);
    return this.failWith ? Promise.reject(this.failWith) : Promise.resolve();
  }
}

/** Records deliveries and returns `<name>-msg-<n>`; can be told to fail. */
export class FakeAdapter implements ChannelAdapter {
  readonly delivered: ChannelMessage[] = [];
  failWith: Error | undefined;
  #waiters: (() => void)[] = [];

  constructor(readonly name: string) {}

  deliver(message: ChannelMessage): Promise<string | null> {
    if (this.failWith) return Promise.reject(this.failWith);
    this.delivered.push(message);
    for (const w of this.#waiters.splice(0)) w();
    return Promise.resolve(`${this.name}-msg-${this.delivered.length}`);
  }

  /** Resolves once `count` messages have been delivered. */
  until(count: number): Promise<void> {
    if (this.delivered.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(() => this.until(count).then(resolve)));
  }
}

/** The agent's side of one session. */
export interface AgentSide extends Disposable {
  inbound: InboundReader;
  outbound: OutboundWriter;
}

/** Fixture options. */
export interface HostFixtureOptions {
  /** The clock of the task store and scheduler. */
  now?: () => Timestamp;
  delivery?: Partial<DeliveryDeps>;
  /** The per-session inbound backlog cap of the router and delivery (default: the production one). */
  backlogCap?: number;
}

/** Everything on the host's message path. */
export class HostFixture implements AsyncDisposable {
  readonly metrics = new MetricsRegistry();
  readonly waker = new RecordingWaker();
  readonly fake = new FakeAdapter("fake");
  readonly adapters = new ChannelAdapters([this.fake]);
  readonly registry: Registry;
  readonly tasks: TaskStore;
  readonly questions: QuestionStore;
  readonly queues: SessionQueueStore;
  readonly backlog: BacklogGate;
  readonly gateway: Gateway;
  readonly scheduler: Scheduler;
  readonly router: Router;
  readonly delivery: Delivery;
  readonly desk: QuestionDesk;

  private constructor(
    readonly dir: string,
    readonly state: StateDb,
    readonly keys: KeyCustodian,
    readonly audit: AuditLog,
    options: HostFixtureOptions,
  ) {
    const now = options.now ?? nowTimestamp;
    this.registry = new Registry(state);
    this.tasks = new TaskStore(state, { now });
    this.questions = new QuestionStore(state, { now });
    this.queues = new SessionQueueStore({
      root: `${dir}/sessions`,
      library: LIBRARY,
      keys,
      registry: this.registry,
      tasks: this.tasks,
    });
    this.backlog = new BacklogGate({ queues: this.queues, cap: options.backlogCap, metrics: this.metrics });
    this.gateway = new Gateway({
      store: new ChangeStore(state),
      audit,
      verifiers: standardVerifiers({
        registry: this.registry,
        mounts: { allowedSourcePrefixes: [`${dir}/mounts`], targetPrefix: "/mnt" },
        egressEnabled: false,
        mcpServers: new Set(),
      }),
      apply: registryApplier(state, this.registry),
      captureBefore: (kind, group) => captureBefore(this.registry, kind, group),
    });
    this.scheduler = new Scheduler({ tasks: this.tasks, queues: this.queues, waker: this.waker, now });
    this.router = new Router({
      registry: this.registry,
      queues: this.queues,
      waker: this.waker,
      gateway: this.gateway,
      metrics: this.metrics,
      backlog: this.backlog,
    });
    this.delivery = new Delivery({
      registry: this.registry,
      queues: this.queues,
      waker: this.waker,
      adapters: this.adapters,
      gateway: this.gateway,
      tasks: this.tasks,
      scheduler: this.scheduler,
      questions: this.questions,
      statuses: this.queues,
      metrics: this.metrics,
      backlog: this.backlog,
      ...options.delivery,
    });
    this.desk = new QuestionDesk({ store: this.questions, queues: this.queues, waker: this.waker });
  }

  /** Opens (or reopens) the host over `dir`. */
  static async open(dir: string, options: HostFixtureOptions = {}): Promise<HostFixture> {
    const state = openTestState(dir);
    const keys = await KeyCustodian.open(dir);
    const audit = await AuditLog.open(`${dir}/${AUDIT_LOG_FILE}`);
    return new HostFixture(dir, state, keys, audit, options);
  }

  /** Opens the agent's side of a session's queues, as the sandbox would. */
  async agent(sessionId: SessionId): Promise<AgentSide> {
    const key = await this.queues.sessionKey(sessionId);
    const paths = this.queues.paths(sessionId);
    const opts = { library: LIBRARY, key };
    const inbound = openInboundReader(paths.inbound, opts);
    const outbound = openOutboundWriter(paths.outbound, opts);
    return {
      inbound,
      outbound,
      [Symbol.dispose]() {
        inbound.close();
        outbound.close();
      },
    };
  }

  /** The messages the agent of `sessionId` would read now. */
  async inbox(sessionId: SessionId): Promise<MessageIn[]> {
    using agent = await this.agent(sessionId);
    return agent.inbound.pendingMessages();
  }

  /** An owner `<channel>:alice`, a messaging group and a pattern-`.` wiring to agent `g1`. */
  seedChat(channelType = "fake", platformId = "C1", agent = "g1") {
    if (!this.registry.hasAgentGroup(agent)) this.registry.putAgentGroup({ id: agent, name: agent });
    this.registry.grantRole({ userId: `${channelType}:alice`, role: "owner" });
    const chat = this.registry.getOrCreateMessagingGroup({ channelType, platformId });
    const wiring = this.registry.putWiring({
      messagingGroupId: chat.id,
      agentGroupId: agent,
      engageMode: "pattern",
      engagePattern: ".",
    });
    return { chat, wiring };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.delivery.stop();
    await this.scheduler.stop();
    await this.queues.close();
    await this.audit.close();
    this.state.close();
  }
}
