/**
 * Test harness: the host's whole message path over one state directory,
 * built by the plane's own wiring (`openStores` + `wireFlow`), with the
 * outside world replaced: the sandboxes by a {@link RecordingWaker} (no agent
 * runs; respawns are recorded), the channels by a {@link FakeAdapter}, and
 * optionally the clock. Tests play the agent through the sandbox-side queue
 * API ({@link HostFixture.agent}), and reopen everything on the same
 * directory to check what survives a restart.
 *
 * @module
 */
import type { AgentGroupId, SessionId } from "../../contract/ids.ts";
import type { MessageIn } from "../../contract/rows.ts";
import type { Timestamp } from "../../contract/time.ts";
import { openInboundReader, openOutboundWriter } from "../../contract/queue/sandbox.ts";
import type { InboundReader, OutboundWriter } from "../../contract/queue/mod.ts";
import {
  type Flow,
  type FlowOptions,
  openStores,
  type SandboxSide,
  type Stores,
  wireFlow,
} from "../../src/control_plane/mod.ts";
import type { ChannelAdapter, ChannelMessage } from "../../src/delivery/mod.ts";
import type { MessagingGroup, Wiring } from "../../src/registry/mod.ts";
import type { SessionWaker } from "../../src/session/mod.ts";
import { LIBRARY } from "./mod.ts";

/** Records wakes; can be told to fail. */
export class RecordingWaker implements SessionWaker {
  readonly wakes: SessionId[] = [];
  failWith: Error | undefined;

  wake(sessionId: SessionId): Promise<void> {
    this.wakes.push(sessionId);
    return this.failWith ? Promise.reject(this.failWith) : Promise.resolve();
  }

  readonly stops: SessionId[] = [];

  stop(sessionId: SessionId): Promise<void> {
    this.stops.push(sessionId);
    return Promise.resolve();
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

/** Sandboxes that never run: wakes and respawns are recorded. */
export interface RecordedSandboxes extends SandboxSide {
  waker: RecordingWaker;
  /** The groups respawned after an applied change, in order. */
  respawned: AgentGroupId[];
}

function recordedSandboxes(): RecordedSandboxes {
  const respawned: AgentGroupId[] = [];
  return {
    waker: new RecordingWaker(),
    respawned,
    respawnGroup: (agentGroupId) => {
      respawned.push(agentGroupId);
      return Promise.resolve(0);
    },
  };
}

/** The agent's side of one session. */
export interface AgentSide extends Disposable {
  inbound: InboundReader;
  outbound: OutboundWriter;
}

/** Fixture options. */
export interface HostFixtureOptions {
  /** The clock of the task and question stores and the scheduler. */
  now?: () => Timestamp;
  /** Delivery's tuning (fallback poll, agent-to-agent limits). */
  delivery?: FlowOptions<RecordedSandboxes>["delivery"];
  /** The per-session inbound backlog cap of the router and delivery (default: the production one). */
  backlogCap?: number;
  /** The gateway's curated MCP server catalog (default: none). */
  mcpServers?: { has(name: string): boolean };
}

/** Everything on the host's message path, and the agent's side of it. */
export type HostFixture =
  & Omit<Stores, "close" | "stateDir">
  & Omit<Flow<RecordedSandboxes>, "sandboxes" | "start" | "close">
  & AsyncDisposable
  & {
    dir: string;
    fake: FakeAdapter;
    waker: RecordingWaker;
    /** The groups the plane's glue respawned after an applied change. */
    respawned: AgentGroupId[];
    /** Opens the agent's side of a session's queues, as the sandbox would. */
    agent(sessionId: SessionId): Promise<AgentSide>;
    /** The messages the agent of `sessionId` would read now. */
    inbox(sessionId: SessionId): Promise<MessageIn[]>;
    /** An owner `<channel>:alice`, a messaging group and a pattern-`.` wiring to agent `g1`. */
    seedChat(
      channelType?: string,
      platformId?: string,
      agent?: string,
    ): { chat: MessagingGroup; wiring: Wiring };
  };

/** Opens (or reopens) the host over `dir`. */
async function open(dir: string, options: HostFixtureOptions = {}): Promise<HostFixture> {
  const stores = await openStores(dir, { library: LIBRARY, now: options.now });
  const fake = new FakeAdapter("fake");
  const flow = wireFlow(stores, {
    sandboxes: recordedSandboxes,
    channels: [fake],
    now: options.now,
    inboundBacklogCap: options.backlogCap,
    mcpServers: options.mcpServers,
    delivery: options.delivery,
  });
  const { registry } = stores;
  const { queues } = flow;
  const { sandboxes, start: _start, close: _close, ...parts } = flow;
  const agent = async (sessionId: SessionId): Promise<AgentSide> => {
    const key = await queues.sessionKey(sessionId);
    const paths = queues.paths(sessionId);
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
  };
  return {
    ...stores,
    ...parts,
    dir,
    fake,
    waker: sandboxes.waker,
    respawned: sandboxes.respawned,
    agent,
    async inbox(sessionId) {
      using side = await agent(sessionId);
      return side.inbound.pendingMessages();
    },
    seedChat(channelType = "fake", platformId = "C1", agent = "g1") {
      if (!registry.hasAgentGroup(agent)) registry.putAgentGroup({ id: agent, name: agent });
      registry.grantRole({ userId: `${channelType}:alice`, role: "owner" });
      const chat = registry.getOrCreateMessagingGroup({ channelType, platformId });
      const wiring = registry.putWiring({
        messagingGroupId: chat.id,
        agentGroupId: agent,
        engageMode: "pattern",
        engagePattern: ".",
      });
      return { chat, wiring };
    },
    async [Symbol.asyncDispose]() {
      await flow.close();
      await stores.close();
    },
  };
}

/** The harness: `HostFixture.open(dir, options)`. */
export const HostFixture = { open };
