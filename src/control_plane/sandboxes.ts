/**
 * The plane's sandbox side of the message path: the sandbox manager, the
 * guarded waker in front of it (crash backoff, parking) and the sweep that
 * finds stuck or dead sandboxes. Test harnesses put a recording waker here
 * instead; everything else on the path is wired the same (see `flow.ts`).
 *
 * @module
 */
import type { ProviderKind } from "../../contract/sockets.ts";
import type { Isolator } from "../../isolator/mod.ts";
import { settledWithin } from "../async/mod.ts";
import { logger } from "../log/mod.ts";
import type { ModelProxy } from "../model_proxy/mod.ts";
import { type BrokerSockets, SandboxManager, START_SLOT_CAP_MS } from "../sandbox/mod.ts";
import { DEFAULT_IDLE_STOP_MS, QueueProbe, Sweep } from "../sweep/mod.ts";
import { GuardedWaker } from "../wake/mod.ts";
import type { SandboxContext, SandboxSide } from "./flow.ts";

/** The longest a shutdown waits for starts under way (each waits for a start slot at most this long, then launches). */
const SHUTDOWN_START_WAIT_MS = 2 * START_SLOT_CAP_MS;

/** The plane's sandboxes, as the message path and the plane use them. */
export interface PlaneSandboxes extends SandboxSide {
  manager: SandboxManager;
  waker: GuardedWaker;
  sweep: Sweep;
}

/** What the plane's sandboxes run with. */
export interface PlaneSandboxOptions {
  /** The backend, chosen on the first launch. */
  isolator: () => Promise<Isolator>;
  proxy: ModelProxy;
  /** The egress broker (each sandbox's `egress.sock`). */
  egress: BrokerSockets;
  /** The MCP broker (each sandbox's `mcp.sock`). */
  mcp: BrokerSockets;
  /** The sandboxes' root directory. */
  root: string;
  /** The agent program's path (built on the first launch). */
  program: () => Promise<string>;
  defaultProvider: ProviderKind;
  /** The agent's fallback poll interval in ms (default: the agent's own). */
  pollMs?: number;
  /** How many sandboxes may be live at once (default: the manager's). */
  maxSandboxes?: number;
  /** Stop a sandbox idle this long, in ms (`serve --idle-stop`; 0 keeps them up; default 10 min). */
  idleStopMs?: number;
  /** Warm spares per agent group with recent traffic (`serve --warm-spares`; default none). */
  warmSpares?: number;
  /** Whether a sandbox that ended should come back (false while the plane opens or closes). */
  relaunchOnExit: () => boolean;
}

/** Builds the plane's sandbox side over the message path's parts. */
export function planeSandboxes(ctx: SandboxContext, options: PlaneSandboxOptions): PlaneSandboxes {
  const log = logger("control-plane");
  const { registry, queues, backoff } = ctx;
  const idleStopMs = options.idleStopMs ?? DEFAULT_IDLE_STOP_MS;
  const manager: SandboxManager = new SandboxManager({
    registry,
    queues,
    isolator: options.isolator,
    proxy: options.proxy,
    egress: options.egress,
    mcp: options.mcp,
    onOutbound: ctx.notifyOutbound,
    // A crashed sandbox comes back through the backoff (and is parked if it keeps crashing).
    onExit: (sessionId) => {
      if (!options.relaunchOnExit()) return;
      waker.wake(sessionId).catch((err) =>
        log.warn("relaunching session {sessionId} after its sandbox ended: {error}", {
          sessionId,
          error: String(err),
        })
      );
    },
    root: options.root,
    library: ctx.library,
    program: options.program,
    defaultProvider: options.defaultProvider,
    pollMs: options.pollMs,
    maxSandboxes: options.maxSandboxes,
    warmSpares: options.warmSpares,
    // Through the waker: a sandbox stopped for room is a deliberate stop, and the next message wakes it.
    evict: (sessionId) => waker.stop(sessionId),
    sandboxOwner: ctx.sandboxOwner,
    mounts: ctx.mounts,
  });
  const waker = new GuardedWaker({
    control: manager,
    backoff,
    registry,
    metrics: ctx.metrics,
    onLaunchFailure: ctx.onLaunchFailure,
  });
  const sweep = new Sweep({
    registry,
    control: manager,
    probe: new QueueProbe({ queues, heartbeatPath: (sessionId) => manager.heartbeatPath(sessionId) }),
    backoff,
    waker,
    idle: idleStopMs > 0
      ? {
        afterMs: idleStopMs,
        idleMs: (sessionId) => manager.idleMs(sessionId),
        busy: (sessionId) => queues.hasOpenWork(sessionId),
      }
      : undefined,
  });
  return {
    manager,
    waker,
    sweep,
    loops: [sweep],
    respawnGroup: (agentGroupId) => manager.respawnGroup(agentGroupId, waker),
    retireGroup: (agentGroupId) => manager.retireGroup(agentGroupId),
    outboundHome: (sessionId, agentGroupId) => manager.outboundHome(sessionId, agentGroupId),
    async close() {
      // A send answers before the start it sets off: let starts under way end, so the stops below include them.
      await settledWithin(waker.settled(), SHUTDOWN_START_WAIT_MS);
      // Through the waker (a deliberate stop, recorded as such), a few at a time; the manager then stops what is left.
      await manager.stopMany(manager.sessions(), (sessionId) => waker.stop(sessionId));
      await manager.close();
      waker.close();
    },
  };
}
