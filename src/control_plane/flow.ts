/**
 * The host's message path, wired once: session queues, the backlog gate,
 * the gateway, the respawn backoff, the scheduler, the router, the web chat,
 * delivery, host notices and the question desk, with the plane's glue
 * between them (a failed launch or a parked session tells its chat; an
 * applied change refreshes destinations and respawns the group's sandboxes;
 * every registry write gets its audit line, and an operator's edit of what a
 * sandbox runs with respawns it too;
 * a damaged queue file parks its session; the queues belong to the sandbox
 * user when the host runs as root). {@link ControlPlane} and every test
 * harness build the path here, so a test exercises what production runs.
 *
 * Only the outside world is given from outside: the sandboxes behind the
 * waker ({@link FlowOptions.sandboxes}: the plane's sandbox manager, a
 * harness's recording waker), the channels besides the web chat, and the
 * clock.
 *
 * Adding a subsystem (an egress broker, an MCP broker, spend budgets, a
 * console, a channel, warm spares): build it in {@link wireFlow} (or, for a
 * store, in `openStores`), hand it to the parts that use it, return it on
 * {@link Flow}, and, if it runs a loop, add it to `loops` (started and
 * stopped with the others). What it needs of the outside world becomes one
 * more field of {@link FlowOptions} (or of {@link SandboxSide}) that the
 * plane fills for real and a harness with a fake. A channel adapter is one
 * of {@link FlowOptions.channels}, or `flow.adapters.add()` once it starts.
 *
 * @example
 * ```ts ignore
 * const stores = await openStores(stateDir, { library });
 * const flow = wireFlow(stores, { sandboxes: () => ({ waker, respawnGroup: () => Promise.resolve(0) }) });
 * flow.start();
 * await flow.router.route({ channelType: "web", platformId: "demo", senderHandle: "console", text: "hi" });
 * await flow.close();
 * await stores.close();
 * ```
 *
 * @module
 */
import type { ChangeRequest } from "../../contract/gateway.ts";
import type { AgentGroupId, SessionId } from "../../contract/ids.ts";
import type { Timestamp } from "../../contract/time.ts";
import { SANDBOX_GID, SANDBOX_UID } from "../../isolator/mod.ts";
import { WebChat } from "../channels/mod.ts";
import {
  type ChannelAdapter,
  ChannelAdapters,
  Delivery,
  type DeliveryDeps,
  parkedNotice,
  sandboxStartNotice,
  SessionNotices,
} from "../delivery/mod.ts";
import {
  captureBefore,
  Gateway,
  type GatewayDeps,
  type McpCatalogView,
  registryApplier,
  RESPAWN_KINDS,
  standardVerifiers,
} from "../gateway/mod.ts";
import { logger } from "../log/mod.ts";
import type { MountPolicy } from "../mounts/mod.ts";
import { type Counter, MetricsRegistry } from "../metrics/mod.ts";
import { QuestionDesk } from "../questions/mod.ts";
import type { Registry } from "../registry/mod.ts";
import { Router } from "../router/mod.ts";
import { Scheduler } from "../scheduling/mod.ts";
import { BacklogGate, type QueueDamagedError, SessionQueueStore, type SessionWaker } from "../session/mod.ts";
import { RegistryParking, RespawnBackoff, SessionParkedError } from "../wake/mod.ts";
import { RegistryEdits } from "./registry_edits.ts";
import type { Stores } from "./stores.ts";

/** A background loop of the message path. */
export interface Loop {
  start(): void;
  stop(): Promise<void>;
}

/** The sandboxes, as the message path drives them. */
export interface SandboxSide {
  /** Wakes a session's sandbox (the plane: the guarded waker over the sandbox manager). */
  waker: SessionWaker;
  /** Restarts a group's running sandboxes after a change to what they launch with; returns how many. */
  respawnGroup(agentGroupId: AgentGroupId): Promise<number>;
  /**
   * Sets a deleted group's workspace and memory aside (the plane: unmounted
   * and moved under `sandbox/deleted/`), so a later agent of the same id
   * starts empty; returns where they went, or undefined when there was nothing.
   */
  retireGroup?(agentGroupId: AgentGroupId): Promise<string | undefined>;
  /** The side's own loops (the plane: the sweep), started after and stopped before the path's. */
  loops?: readonly Loop[];
  /** Stops every sandbox: after the loops stop, before the queues close. */
  close?(): Promise<void>;
  /**
   * Where a session's outbound queue lives on bounded storage (the plane: its
   * group's outbox volume), or undefined to keep `sessions/<id>/out` as it is.
   */
  outboundHome?(sessionId: SessionId, agentGroupId: AgentGroupId): Promise<string | undefined>;
}

/** What the sandbox side is built from: the path's parts it needs. */
export interface SandboxContext {
  registry: Registry;
  queues: SessionQueueStore;
  backoff: RespawnBackoff;
  metrics: MetricsRegistry;
  /** libsqlcipher. */
  library: string;
  /** The uid and gid the agent runs as (set when the host runs as root). */
  sandboxOwner?: { uid: number; gid: number };
  /** Tells delivery that a session has new outbound rows. */
  notifyOutbound(sessionId: SessionId): void;
  /** Tells the session's chat that its sandbox could not start (a waker calls it when a launch fails). */
  onLaunchFailure(sessionId: SessionId): void;
  /** Where approved mounts may come from (each is resolved again at every launch). */
  mounts: MountPolicy;
}

/** How to wire the message path. */
export interface FlowOptions<S extends SandboxSide> {
  /** Builds the sandbox side (called once, before the router; `ctx.notifyOutbound` works once wiring is done). */
  sandboxes: (ctx: SandboxContext) => S;
  /** Channel adapters besides the web chat (delivery sends replies to them by channel type). */
  channels?: readonly ChannelAdapter[];
  /** The clock of the scheduler (default: the wall clock; the stores take theirs in `openStores`). */
  now?: () => Timestamp;
  /** Host directories under which approved mounts may lie (default `<state-dir>/mounts`). */
  mountPrefixes?: readonly string[];
  /**
   * The MCP servers the gateway knows (default: the stores' catalog, with no
   * offers recorded); the plane's also records what each grant's approver sees.
   */
  mcpServers?: McpCatalogView;
  /** Unanswered inbound messages a session may hold before new ones are refused (default: the gate's). */
  inboundBacklogCap?: number;
  /** Delivery's tuning: its fallback poll and agent-to-agent limits. */
  delivery?: Pick<DeliveryDeps, "fallbackMs" | "a2a">;
}

/** The wired message path. */
export interface Flow<S extends SandboxSide> {
  metrics: MetricsRegistry;
  /** Terminal gateway decisions, by outcome. */
  decisions: Counter;
  queues: SessionQueueStore;
  /** The per-session inbound backlog cap (back-pressure), shared by the router and delivery. */
  backlog: BacklogGate;
  gateway: Gateway;
  /** Crash backoff and parking (durable, in the registry). */
  backoff: RespawnBackoff;
  sandboxes: S;
  scheduler: Scheduler;
  router: Router;
  /** The web chat: sends console messages, takes the agents' replies, drains them (waiting). */
  webChat: WebChat;
  /** Delivery's adapters by channel type (a channel may add itself later). */
  adapters: ChannelAdapters;
  delivery: Delivery;
  /**
   * Host notices to a session's chat (rate-limited): a parked session and a
   * failed launch are wired here; the plane's model proxy adds model failures.
   */
  notices: SessionNotices;
  desk: QuestionDesk;
  /** Every registry write's audit line, and the restart an edit outside the gateway calls for. */
  registryEdits: RegistryEdits;
  /**
   * Deletes agent group `agentGroupId` by `remove` (the registry write, by
   * an applied `delete_agent` or an operator's direct edit): its sandboxes
   * stop first, its sessions' open queues close after, and its volumes are
   * set aside. Returns the sessions removed with it.
   */
  deleteAgentGroup(agentGroupId: AgentGroupId, remove: () => void): Promise<SessionId[]>;
  /** The uid and gid the agent runs as (set when the host runs as root). */
  sandboxOwner?: { uid: number; gid: number };
  /** Starts the loops: delivery, the scheduler, then the sandbox side's. */
  start(): void;
  /** Ends chat waits, stops the loops (in reverse), the sandboxes, then closes the queues. */
  close(): Promise<void>;
}

/** The agent's uid and gid when the host runs as root (the process backend, as root, reads them all the same). */
function sandboxOwner(): { uid: number; gid: number } | undefined {
  return Deno.uid() === 0 ? { uid: SANDBOX_UID, gid: SANDBOX_GID } : undefined;
}

/** Wires the message path over `stores`; see the module doc. */
export function wireFlow<S extends SandboxSide>(stores: Stores, options: FlowOptions<S>): Flow<S> {
  const { registry, tasks, questions } = stores;
  const log = logger("control-plane");
  const metrics = new MetricsRegistry();
  const owner = sandboxOwner();
  const backoff = new RespawnBackoff({
    parking: new RegistryParking(registry),
    onPark: (sessionId, reason) => {
      log.error("session {sessionId} parked, it needs an operator (then unpark it): {reason}", {
        sessionId,
        reason,
      });
      // Notices are built below; a session parks only once the path runs.
      void notices.notify(sessionId, parkedNotice(sessionId));
    },
  });
  // Parks a damaged queue's session durably (the registry's `parked`), so `GET /v1/sessions/parked` names it.
  const parkDamaged = (err: QueueDamagedError) =>
    backoff.park(err.sessionId, `queue file damaged: ${err.message}; restore or remove the file`);
  const queues = new SessionQueueStore({
    root: `${stores.stateDir}/sessions`,
    library: stores.library,
    keys: stores.keys,
    registry,
    tasks,
    sandboxUid: owner?.uid,
    sandboxGid: owner?.gid,
    onDamaged: parkDamaged,
    // The sandbox side is built below; queues are opened only after that.
    outboundHome: (sessionId, agentGroupId) =>
      sandboxes.outboundHome?.(sessionId, agentGroupId as AgentGroupId) ?? Promise.resolve(undefined),
  });
  const backlog = new BacklogGate({ queues, cap: options.inboundBacklogCap, metrics });
  const mounts: MountPolicy = {
    allowedSourcePrefixes: options.mountPrefixes ?? [`${stores.stateDir}/mounts`],
    stateDir: stores.stateDir,
  };
  const sandboxes = options.sandboxes({
    registry,
    queues,
    backoff,
    metrics,
    library: stores.library,
    sandboxOwner: owner,
    // Delivery is built below; the sandboxes ring only once they run.
    notifyOutbound: (sessionId) => delivery.notify(sessionId),
    onLaunchFailure: (sessionId) => void notices.notify(sessionId, sandboxStartNotice()),
    mounts,
  });
  const { waker } = sandboxes;
  const registryEdits = new RegistryEdits(registry, {
    audit: stores.audit,
    respawnGroup: (agentGroupId) => sandboxes.respawnGroup(agentGroupId),
    refreshDestinations: (agentGroupId) => queues.refreshDestinations(agentGroupId),
  });
  const deleteAgentGroup = async (agentGroupId: AgentGroupId, remove: () => void) => {
    const sessions = registry.hasAgentGroup(agentGroupId)
      ? registry.listSessions(agentGroupId).map((s) => s.id)
      : [];
    for (const sessionId of sessions) await waker.stop?.(sessionId);
    remove();
    for (const sessionId of sessions) await queues.forget(sessionId);
    const keptAt = await sandboxes.retireGroup?.(agentGroupId);
    if (keptAt) {
      log.info("agent group {agentGroupId} deleted; its workspace and memory are kept at {keptAt}", {
        agentGroupId,
        keptAt,
      });
    }
    return sessions;
  };
  const decisions = metrics.counter(
    "ironclaw_gateway_decisions_total",
    "Terminal gateway decisions, by outcome.",
  );
  const gateway = hostGateway(stores, {
    mounts,
    mcpServers: options.mcpServers ?? stores.mcpCatalog,
    onDecision: (decision) => decisions.inc({ decision }),
    deleteAgentGroup,
    onApplied: async (req: ChangeRequest) => {
      if (req.kind === "permissions") await queues.refreshDestinations(req.agentGroupId);
      if (RESPAWN_KINDS.has(req.kind)) await sandboxes.respawnGroup(req.agentGroupId);
    },
  });
  const scheduler = new Scheduler({ tasks, queues, waker, now: options.now });
  const router = new Router({
    registry,
    waker: tellingParked(waker, (sessionId) => void notices.notify(sessionId, parkedNotice(sessionId))),
    gateway,
    metrics,
    onQueueDamaged: parkDamaged,
    backlog,
  });
  const webChat = new WebChat({ registry, router, state: stores.state });
  const adapters = new ChannelAdapters([webChat, ...options.channels ?? []]);
  const delivery = new Delivery({
    registry,
    queues,
    waker,
    adapters,
    gateway,
    tasks,
    scheduler,
    questions,
    statuses: queues,
    metrics,
    backlog,
    ...options.delivery,
  });
  const notices = new SessionNotices({ registry, adapters });
  const desk = new QuestionDesk({ store: questions, queues, waker });
  const loops: Loop[] = [delivery, scheduler, ...sandboxes.loops ?? []];
  return {
    metrics,
    decisions,
    queues,
    backlog,
    gateway,
    backoff,
    sandboxes,
    scheduler,
    router,
    webChat,
    adapters,
    delivery,
    notices,
    desk,
    registryEdits,
    deleteAgentGroup,
    sandboxOwner: owner,
    start() {
      for (const loop of loops) loop.start();
    },
    async close() {
      webChat.close();
      for (const loop of [...loops].reverse()) await loop.stop();
      await sandboxes.close?.();
      await registryEdits.settled();
      await queues.close();
    },
  };
}

/**
 * The router's waker: a message to a session that is already parked tells
 * its chat so (the notice at parking time went to an earlier message), still
 * rate-limited per session by the notices; the wake fails as before.
 */
function tellingParked(waker: SessionWaker, onParked: (sessionId: SessionId) => void): SessionWaker {
  const telling = (wake: (sessionId: SessionId) => Promise<void>) => async (sessionId: SessionId) => {
    try {
      await wake(sessionId);
    } catch (err) {
      if (err instanceof SessionParkedError) onParked(sessionId);
      throw err;
    }
  };
  return {
    wake: telling((sessionId) => waker.wake(sessionId)),
    wakeSoon: waker.wakeSoon && telling((sessionId) => waker.wakeSoon!(sessionId)),
    stop: waker.stop && ((sessionId) => waker.stop!(sessionId)),
  };
}

/** What the gateway is told besides the stores. */
interface GatewayOptions {
  mounts: MountPolicy;
  mcpServers: McpCatalogView;
  onDecision: NonNullable<GatewayDeps["onDecision"]>;
  onApplied: (req: ChangeRequest) => Promise<void>;
  /** How an applied `delete_agent` takes its group away (see {@link Flow.deleteAgentGroup}). */
  deleteAgentGroup: (agentGroupId: AgentGroupId, remove: () => void) => Promise<unknown>;
}

/** The gateway: the standard verifiers, the registry applier, its before-images, and the follow-up hooks. */
function hostGateway(stores: Stores, options: GatewayOptions): Gateway {
  const { registry } = stores;
  const hookLog = logger("gateway");
  const applyChange = registryApplier(registry, {
    egressHosts: stores.egressHosts,
    vault: stores.vault,
    mcpCatalog: stores.mcpCatalog,
    mcpPins: stores.mcpPins,
    budgets: stores.budgets,
    mounts: options.mounts,
  });
  return new Gateway({
    store: stores.changes,
    audit: stores.audit,
    verifiers: standardVerifiers({
      registry,
      mounts: options.mounts,
      egressEnabled: true,
      mcpServers: options.mcpServers,
      vaultSecrets: stores.vault,
      pendingChanges: () => stores.changes.pending(),
    }),
    apply: async (req) => {
      if (req.kind === "delete_agent") {
        await options.deleteAgentGroup(req.agentGroupId, () => applyChange(req));
      } else applyChange(req);
    },
    captureBefore: (kind, group) => captureBefore(registry, kind, group),
    onDecision: options.onDecision,
    onApplied: options.onApplied,
    onHookError: (req, err) =>
      hookLog.error("change {changeId} applied but its follow-up failed: {error}", {
        changeId: req.id,
        error: String(err),
      }),
  });
}
