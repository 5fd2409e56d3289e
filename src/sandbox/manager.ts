/**
 * The session manager's launch side: the {@link SandboxControl} the
 * guarded waker and the sweep drive. Launching a session ensures its queues
 * and key, opens its model-proxy socket and doorbell (an outbound ring
 * becomes `onOutbound(sessionId)`, i.e. a delivery pass; the doorbell also
 * serves the session's queue lease), builds the launch
 * spec from the registry and starts the agent with the configured isolator.
 * The isolator hands the key over as a tmpfs key file that lives only as
 * long as the sandbox. Stopping tears all of that down again.
 *
 * @module
 */
import type { SessionId } from "../../contract/ids.ts";
import {
  DOORBELL_SOCKET_NAME,
  EGRESS_SOCKET_NAME,
  MCP_SOCKET_NAME,
  MODEL_SOCKET_NAME,
  type ProviderKind,
} from "../../contract/sockets.ts";
import type { SessionKey } from "../../contract/cipher.ts";
import type { QueuePaths } from "../../contract/queue/mod.ts";
import type { Isolator, Limits, SandboxHandle } from "../../isolator/mod.ts";
import { Doorbell, type DoorbellOptions } from "../doorbell/mod.ts";
import { logger } from "../log/mod.ts";
import { memoryOwner, type Registry, type Session } from "../registry/mod.ts";
import type { MemoryPartition } from "../../contract/mod.ts";
import { KeyedLock } from "../async/mod.ts";
import type { SandboxControl } from "../wake/mod.ts";
import { agentArgs } from "./agent_args.ts";
import { ensureSessionDirs, outboxDir, partitionedMemoryDir, sessionDirs } from "./session_dirs.ts";
import { DEFAULT_VOLUME_SIZES, GroupVolumes, type VolumeSizes } from "./group_volumes.ts";
import { StartSlots } from "./start_slots.ts";
import { defaultMaxSandboxes, SandboxCap } from "./sandbox_cap.ts";

/** The session's queue files and key (the session queue store). */
export interface QueueSource {
  /** The session's key, its queues provisioned first. */
  sessionKey(sessionId: SessionId): Promise<SessionKey>;
  paths(sessionId: SessionId): QueuePaths;
  /** The session's queue lease, served beside the doorbell (the host's lock over the queue files). */
  lease?(sessionId: SessionId): DoorbellOptions["lease"];
  /** Whether the session has a message or due task waiting or in progress (its sandbox is not idle). */
  hasOpenWork?(sessionId: SessionId): Promise<boolean>;
}

/** The model proxy's per-session sockets. */
export interface ModelSockets {
  openSession(sessionId: SessionId, socketPath: string): Promise<void>;
  closeSession(sessionId: SessionId): Promise<void>;
}

/** A host broker's per-session sockets (egress, MCP); a session's agent group is its identity there. */
export interface BrokerSockets {
  openSession(sessionId: SessionId, at: { agentGroupId: string; socketPath: string }): Promise<void>;
  closeSession(sessionId: SessionId): Promise<void>;
}

/** What the manager is built from. */
export interface SandboxManagerDeps {
  registry: Registry;
  queues: QueueSource;
  /** The backend, resolved on the first launch (choosing one may run a smoke test). */
  isolator: () => Promise<Isolator>;
  proxy: ModelSockets;
  /** The egress broker (absent: the sandboxes get no `egress.sock`). */
  egress?: BrokerSockets;
  /** The MCP broker (absent: the sandboxes get no `mcp.sock`). */
  mcp?: BrokerSockets;
  /** The agent rang: it wrote outbound rows (hand them to delivery). Must not throw. */
  onOutbound: (sessionId: SessionId) => void;
  /**
   * A sandbox ended without being stopped (a crash, a bad start). The
   * control plane wakes the session again, through the backoff, which parks
   * a session that keeps failing. Must not throw.
   */
  onExit?: (sessionId: SessionId) => void;
  /** Directory of the sessions' sockets, workspaces and memories. */
  root: string;
  /** libsqlcipher. */
  library: string;
  /** The bundled agent program. */
  program: () => Promise<string>;
  /** The Deno binary that runs the agent (default: this process's). */
  denoPath?: string;
  /** The provider of a group that names none. */
  defaultProvider: ProviderKind;
  /** The agent's fallback poll interval. */
  pollMs?: number;
  limits?: Partial<Limits>;
  /** The sandbox's uid, when the agent runs as another user than the host (see `ensureSessionDirs`). */
  sandboxOwner?: { uid: number; gid: number };
  /**
   * Each agent group's disk quota (default {@link DEFAULT_VOLUME_SIZES}): its
   * workspaces and memory on size-limited images, mounted while the manager
   * is open. `false` keeps plain directories (no quota).
   */
  volumes?: VolumeSizes | false;
  /**
   * How many gVisor sandboxes may be starting at once (default: the host's
   * cores); a start ends at the agent's first queue-lease request, when its
   * sandbox ends, or after `startSlotCapMs` (default {@link START_SLOT_CAP_MS}).
   * See `start_slots.ts`.
   */
  startSlots?: number;
  startSlotCapMs?: number;
  /**
   * How many sandboxes may be live at once (default {@link defaultMaxSandboxes});
   * at the cap a launch first stops the least recently used idle one (see `sandbox_cap.ts`).
   */
  maxSandboxes?: number;
  /**
   * How a sandbox is stopped to make room: through the waker, so the stop is
   * deliberate, not a crash (default: this manager's `stop`).
   */
  evict?: (sessionId: SessionId) => Promise<void>;
}

/** The longest one start holds its slot (a sandbox whose agent never comes up must not hold the others back). */
export const START_SLOT_CAP_MS = 10_000;

/** One running sandbox with its host ends. */
interface Running {
  agentGroupId: string;
  handle: SandboxHandle;
  doorbell: Doorbell;
  stopping: boolean;
  /** The supervised child has exited (set as its `exited` settles). */
  exited: boolean;
  /** Gives back the start slot, if the start still holds it. */
  endStart: () => void;
}

/** What a respawn goes through: the waker, so a deliberate stop is not counted as a crash. */
export interface RespawnVia {
  stop(sessionId: SessionId): Promise<void>;
  wake(sessionId: SessionId): Promise<void>;
}

/** Sandboxes per session, with their doorbells and model sockets. */
export class SandboxManager implements SandboxControl {
  #d: SandboxManagerDeps;
  #log = logger("sandbox");
  #running = new Map<SessionId, Running>();
  #locks = new KeyedLock<SessionId>();
  #closed = false;
  #volumes: GroupVolumes;
  #startSlots: StartSlots;
  #cap: SandboxCap;

  constructor(deps: SandboxManagerDeps) {
    this.#d = deps;
    this.#startSlots = new StartSlots(deps.startSlots ?? navigator.hardwareConcurrency);
    this.#cap = new SandboxCap(deps.maxSandboxes ?? defaultMaxSandboxes());
    this.#volumes = new GroupVolumes(deps.root, deps.volumes ?? DEFAULT_VOLUME_SIZES, {
      mode: deps.sandboxOwner ? 0o711 : 0o700,
    });
  }

  /** The heartbeat file of a session's agent (for the liveness probe), beside its outbound queue. */
  heartbeatPath(sessionId: SessionId): string {
    return this.#d.queues.paths(sessionId).heartbeat;
  }

  async isRunning(sessionId: SessionId, opts: { probe?: boolean } = {}): Promise<boolean> {
    const running = this.#running.get(sessionId);
    if (running === undefined || running.stopping || running.exited) return false;
    // Without a probe, the supervised child's exit (it ends with its sandbox) is the answer.
    return opts.probe === false || await running.handle.alive();
  }

  /** Sessions with a sandbox started and not stopped (some may have died since), optionally of one group. */
  sessions(agentGroupId?: string): SessionId[] {
    return [...this.#running].filter(([, r]) => agentGroupId === undefined || r.agentGroupId === agentGroupId)
      .map(([id]) => id);
  }

  /** Milliseconds since a running session's sandbox was last used (launched, rung, or wrote outbound). */
  idleMs(sessionId: SessionId): number | undefined {
    return this.#running.has(sessionId) ? this.#cap.idleMs(sessionId) : undefined;
  }

  /** The agent's log file of a running session, if any. */
  logPath(sessionId: SessionId): string | undefined {
    return this.#running.get(sessionId)?.handle.logPath;
  }

  /**
   * Where session `sessionId`'s outbound queue belongs: on its agent group's
   * outbox volume (mounted here first), within the group's quota; undefined
   * where volumes are not limited (they stay plain, with the warning that says so).
   */
  async outboundHome(sessionId: SessionId, agentGroupId: string): Promise<string | undefined> {
    const volumes = await this.#volumes.ensure(agentGroupId);
    return volumes.outbox.limited ? outboxDir(this.#d.root, agentGroupId, sessionId) : undefined;
  }

  launch(sessionId: SessionId): Promise<void> {
    return this.#locks.run(sessionId, async () => {
      if (this.#closed) throw new Error("the sandbox manager is closed");
      const previous = this.#running.get(sessionId);
      if (previous) {
        if (!previous.stopping && await previous.handle.alive()) return;
        await this.#teardown(sessionId, previous);
      }
      await this.#makeRoom(sessionId);
      try {
        this.#running.set(sessionId, await this.#start(sessionId));
      } finally {
        this.#cap.started(sessionId);
      }
    });
  }

  /** At the cap, stops the least recently used idle sandbox(es) before `sessionId`'s starts. */
  async #makeRoom(sessionId: SessionId): Promise<void> {
    const evict = this.#d.evict ?? ((id: SessionId) => this.stop(id));
    const evicted = await this.#cap.admit(sessionId, {
      live: () => [...this.#running].filter(([, r]) => !r.stopping && !r.exited).map(([id]) => id),
      busy: (id) => this.#d.queues.hasOpenWork?.(id) ?? Promise.resolve(false),
      evict,
    });
    for (const id of evicted) {
      this.#log.info(
        "stopped the idle sandbox of session {evicted} to make room for {sessionId} ({max} at most)",
        {
          evicted: id,
          sessionId,
          max: this.#cap.max,
        },
      );
    }
    const live = this.sessions().filter((id) => id !== sessionId).length;
    if (live >= this.#cap.max) {
      this.#log.warn("all {live} live sandboxes are busy: session {sessionId} starts over the cap of {max}", {
        live,
        sessionId,
        max: this.#cap.max,
      });
    }
  }

  ring(sessionId: SessionId): void {
    const running = this.#running.get(sessionId);
    if (!running) return;
    this.#cap.touch(sessionId);
    running.doorbell.ring();
  }

  stop(sessionId: SessionId): Promise<void> {
    return this.#locks.run(sessionId, async () => {
      const running = this.#running.get(sessionId);
      if (running) await this.#teardown(sessionId, running);
    });
  }

  /**
   * Restarts every sandbox of a group after a change to its launch spec:
   * each is stopped through `via` (a deliberate stop, not a crash) and woken
   * again, so it comes back with the new spec. Returns how many were stopped.
   */
  async respawnGroup(agentGroupId: string, via: RespawnVia): Promise<number> {
    const sessions = this.sessions(agentGroupId);
    for (const sessionId of sessions) {
      await via.stop(sessionId);
      try {
        await via.wake(sessionId);
      } catch (err) {
        // Stopped is what the change needs; the next message relaunches it.
        this.#log.warn("session {sessionId} did not restart after a change: {error}", {
          sessionId,
          error: String(err),
        });
      }
    }
    if (sessions.length) {
      this.#log.info("respawned {count} sandbox(es) of agent group {agentGroupId}", {
        count: sessions.length,
        agentGroupId,
      });
    }
    return sessions.length;
  }

  /** Stops every sandbox and unmounts the agent groups' volumes; later launches fail. */
  async close(): Promise<void> {
    this.#closed = true;
    try {
      await Promise.all([...this.#running.keys()].map((sessionId) => this.stop(sessionId)));
    } finally {
      await this.#volumes.close();
    }
  }

  async #start(sessionId: SessionId): Promise<Running> {
    const d = this.#d;
    const session = d.registry.getSession(sessionId);
    const spec = d.registry.getLaunchSpec(session.agentGroupId);
    const args = agentArgs(spec, { defaultProvider: d.defaultProvider, pollMs: d.pollMs });
    const [isolator, key, program] = await Promise.all([
      d.isolator(),
      d.queues.sessionKey(sessionId),
      d.program(),
    ]);
    const paths = d.queues.paths(sessionId);
    const dirs = {
      ...sessionDirs(d.root, sessionId, session.agentGroupId),
      memoryDir: await this.#memoryDir(session, spec.memoryPartition),
    };
    // The group's workspace and memory volumes first: the session's directories go on them.
    await this.#volumes.ensure(session.agentGroupId);
    ensureSessionDirs(dirs, d.sandboxOwner);
    // Agents before 2026-12-07 beat in the workspace; the user should not find a stale one there.
    await Deno.remove(`${dirs.workspaceDir}/.heartbeat`).catch(() => {});
    await d.proxy.openSession(sessionId, `${dirs.socketDir}/${MODEL_SOCKET_NAME}`);
    const lease = d.queues.lease?.(sessionId);
    const doorbell = new Doorbell(`${dirs.socketDir}/${DOORBELL_SOCKET_NAME}`, {
      onOutbound: () => {
        this.#cap.touch(sessionId);
        d.onOutbound(sessionId);
      },
      lease,
    });
    // Under gVisor a start beyond the limit waits for another to end (start_slots.ts).
    let endStart = () => {};
    try {
      for (const [name, broker] of this.#brokers()) {
        await broker.openSession(sessionId, {
          agentGroupId: session.agentGroupId,
          socketPath: `${dirs.socketDir}/${name}`,
        });
      }
      await doorbell.start();
      const slot = isolator.strength === "gvisor" ? await this.#startSlots.acquire() : undefined;
      if (slot) endStart = slot;
      if (this.#closed) throw new Error("the sandbox manager is closed");
      const up = slot && lease?.nextAgentRequest();
      const handle = await isolator.launch({
        sessionId,
        inboundDir: paths.inboundDir,
        outboundDir: paths.outboundDir,
        key: { bytes: key },
        workspaceDir: dirs.workspaceDir,
        memoryDir: dirs.memoryDir,
        socketDir: dirs.socketDir,
        library: d.library,
        denoPath: d.denoPath ?? Deno.execPath(),
        program,
        args,
        limits: d.limits,
      });
      if (slot) endStart = this.#endStartWhenUp(slot, up, handle);
      const running: Running = {
        agentGroupId: session.agentGroupId,
        handle,
        doorbell,
        stopping: false,
        exited: false,
        endStart,
      };
      handle.exited.then(() => running.exited = true, () => running.exited = true);
      this.#watch(sessionId, running);
      this.#log.info("launched session {sessionId} of {agentGroupId} with {isolator}", {
        sessionId,
        agentGroupId: session.agentGroupId,
        isolator: isolator.kind,
      });
      return running;
    } catch (err) {
      endStart();
      await doorbell.close().catch(() => {});
      await d.proxy.closeSession(sessionId).catch(() => {});
      for (const [, broker] of this.#brokers()) await broker.closeSession(sessionId).catch(() => {});
      throw err;
    }
  }

  /**
   * The memory directory session `session` binds at `/memory` under its
   * group's `partition`: the group's shared volume, or its own person's or
   * session's directory on the group's partitioned-memory volume (mounted here).
   */
  async #memoryDir(session: Session, partition: MemoryPartition): Promise<string> {
    const chat = this.#d.registry.getMessagingGroup(session.messagingGroupId);
    const owner = memoryOwner(partition, { session, chat });
    if (owner.kind === "group") return sessionDirs(this.#d.root, session.id, session.agentGroupId).memoryDir;
    await this.#volumes.ensurePartitioned(session.agentGroupId);
    return await partitionedMemoryDir(this.#d.root, { agentGroupId: session.agentGroupId, owner });
  }

  /**
   * `release` once the agent is up (`up`: its first lease request), its
   * sandbox ends, or the cap passes, whichever comes first; returns the
   * function that ends the start early (a stop).
   */
  #endStartWhenUp(release: () => void, up: Promise<void> | undefined, handle: SandboxHandle): () => void {
    if (!up) {
      release();
      return release;
    }
    const timer = setTimeout(end, this.#d.startSlotCapMs ?? START_SLOT_CAP_MS);
    function end() {
      clearTimeout(timer);
      release();
    }
    up.then(end);
    handle.exited.then(end, end);
    return end;
  }

  /** Logs a sandbox that ends without being stopped, with the tail of its log. */
  #watch(sessionId: SessionId, running: Running): void {
    running.handle.exited.then(async (status) => {
      if (running.stopping || this.#running.get(sessionId) !== running) return;
      const log = await Deno.readTextFile(running.handle.logPath).catch(() => "");
      const last = log.trim().split("\n").at(-1)?.slice(0, 300) ?? "";
      this.#log.warn("the sandbox of session {sessionId} exited ({status}): {last}", {
        sessionId,
        status: JSON.stringify(status),
        last,
      });
      if (!this.#closed) this.#d.onExit?.(sessionId);
    }, () => {});
  }

  async #teardown(sessionId: SessionId, running: Running): Promise<void> {
    running.stopping = true;
    running.endStart();
    try {
      await running.handle.stop();
    } finally {
      if (this.#running.get(sessionId) === running) {
        this.#running.delete(sessionId);
        this.#cap.forget(sessionId);
      }
      await running.doorbell.close();
      await this.#d.proxy.closeSession(sessionId);
      for (const [, broker] of this.#brokers()) await broker.closeSession(sessionId);
    }
  }

  /** The host brokers a sandbox reaches, each by its socket file in the session's socket directory. */
  #brokers(): [string, BrokerSockets][] {
    const { egress, mcp } = this.#d;
    return [
      ...(egress ? [[EGRESS_SOCKET_NAME, egress] as [string, BrokerSockets]] : []),
      ...(mcp ? [[MCP_SOCKET_NAME, mcp] as [string, BrokerSockets]] : []),
    ];
  }
}
