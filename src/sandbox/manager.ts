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
 * With `warmSpares`, a group whose sessions launched lately keeps sandboxes
 * booted ahead of its next session (`spares.ts`, `spare_pool.ts`): a launch
 * claims one when it can (same launch spec, nothing in its directories),
 * else starts cold as before. Both paths open the session's sockets in
 * `#openEnds`, the one place a new per-session socket is added. The group's
 * next spare boots once the launched session has answered, not during its
 * first turn.
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
import { dirname } from "node:path";
import type { Isolator, LaunchSpec, Limits, SandboxHandle, SandboxMount } from "../../isolator/mod.ts";
import { Doorbell, type DoorbellOptions } from "../doorbell/mod.ts";
import { logger } from "../log/mod.ts";
import { memoryOwner, type Registry, type Session } from "../registry/mod.ts";
import type { MemoryPartition } from "../../contract/mod.ts";
import { eachBounded, KeyedLock } from "../async/mod.ts";
import type { MountPolicy } from "../mounts/mod.ts";
import type { SandboxControl } from "../wake/mod.ts";
import { agentArgs } from "./agent_args.ts";
import { resolveLaunchMounts } from "./launch_mounts.ts";
import { ensureSessionDirs, outboxDir, partitionedMemoryDir, sessionDirs } from "./session_dirs.ts";
import { DEFAULT_VOLUME_SIZES, GroupVolumes, type VolumeSizes } from "./group_volumes.ts";
import { StartSlots } from "./start_slots.ts";
import { defaultMaxSandboxes, SandboxCap } from "./sandbox_cap.ts";
import { type PooledSpare, SparePool } from "./spare_pool.ts";
import {
  type AdoptPair,
  claimInto,
  ClaimSocket,
  makeSpareDirs,
  newSpareId,
  recordSpareDirs,
  recoverSpares,
  removeSpareDirs,
  type SpareDirs,
  spareDirs,
  spareLaunchDirs,
  unexpectedEntries,
} from "./spares.ts";

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
  /**
   * Warm spares per agent group with recent traffic (`serve --warm-spares`;
   * default 0 here, serve's is 1): sandboxes booted before their session,
   * claimed by the group's next new or woken session (see `spares.ts`).
   * They count against `maxSandboxes`; runsc and bwrap only (a process
   * backend's agent finds its files by path, not through binds).
   */
  warmSpares?: number;
  /** Where the groups' approved mounts may come from (absent: a group with mounts does not launch). */
  mounts?: MountPolicy;
}

/** Backends whose binds follow a directory, not its name, so a claim can rename a session's files into a spare. */
const SPARE_BACKENDS: ReadonlySet<string> = new Set(["runsc", "bwrap"]);

/** A spare's sandbox, booted and waiting for a session. */
interface Spare extends PooledSpare {
  id: string;
  dirs: SpareDirs;
  /** The group's mounts as resolved when it booted (what its sandbox has bound). */
  mounts: SandboxMount[];
  handle: SandboxHandle;
  claim: ClaimSocket;
  endStart: () => void;
  /** The supervised child has exited (set as its `exited` settles). */
  ended: boolean;
}

/** A session's host-owned sockets: the doorbell (with the lease), the model proxy's and the brokers'. */
interface SessionEnds {
  doorbell: Doorbell;
  lease: DoorbellOptions["lease"];
  /** Settles at the agent's first outbound ring (its first reply written). */
  answered: Promise<void>;
  close(): Promise<void>;
}

/** The longest one start holds its slot (a sandbox whose agent never comes up must not hold the others back). */
export const START_SLOT_CAP_MS = 10_000;

/** Sandboxes stopped at once when many go together (shutdown): their runtime calls overlap, a few processes at a time. */
const STOP_PARALLEL = 8;

/** How long one stop among many may take before the others go on without it (a runtime that never answers). */
const STOP_PATIENCE_MS = 60_000;

/** One running sandbox with its host ends. */
interface Running {
  agentGroupId: string;
  handle: SandboxHandle;
  ends: SessionEnds;
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
  #spares: SparePool<Spare>;
  #recovered = false;
  /** Launches whose group's spare pool is told of their traffic once they have answered. */
  #trafficTimers = new Set<ReturnType<typeof setTimeout>>();

  constructor(deps: SandboxManagerDeps) {
    this.#d = deps;
    this.#startSlots = new StartSlots(deps.startSlots ?? navigator.hardwareConcurrency);
    this.#cap = new SandboxCap(deps.maxSandboxes ?? defaultMaxSandboxes());
    this.#volumes = new GroupVolumes(deps.root, deps.volumes ?? DEFAULT_VOLUME_SIZES, {
      mode: deps.sandboxOwner ? 0o711 : 0o700,
    });
    this.#spares = new SparePool<Spare>({
      perGroup: deps.warmSpares ?? 0,
      boot: (agentGroupId) => this.#bootSpare(agentGroupId),
      discard: (spare) => this.#discardSpare(spare),
      room: () => this.#live().length + this.#spares.count() < this.#cap.max,
      fingerprint: (agentGroupId) => this.#fingerprint(agentGroupId),
      onFailure: (agentGroupId, error, retryInMs) =>
        this.#log.warn("a warm spare of {agentGroupId} failed ({error}); the next in {retryInMs} ms", {
          agentGroupId,
          error,
          retryInMs,
        }),
    });
  }

  /** Warm spares waiting for a session, of one group or all. */
  spareCount(agentGroupId?: string): number {
    return agentGroupId === undefined ? this.#spares.count() : this.#spares.waiting(agentGroupId);
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

  /** Sets deleted group `agentGroupId`'s volumes aside (see {@link GroupVolumes.retire}); its sandboxes are stopped. */
  async retireGroup(agentGroupId: string): Promise<string | undefined> {
    // Its warm spares were booted on those volumes: they go first (none boots again: the group has no spec).
    await this.#spares.discardGroup(agentGroupId);
    return await this.#volumes.retire(agentGroupId);
  }

  /** Session `sessionId`'s workspace on the host, its group's workspace volume mounted first (so its files are there). */
  async workspaceDir(sessionId: SessionId, agentGroupId: string): Promise<string> {
    await this.#volumes.ensure(agentGroupId);
    return sessionDirs(this.#d.root, sessionId, agentGroupId).workspaceDir;
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
      this.#recoverOnce();
      const { agentGroupId } = this.#d.registry.getSession(sessionId);
      const fingerprint = this.#fingerprint(agentGroupId);
      const spare = fingerprint === undefined ? undefined : this.#spares.take(agentGroupId, fingerprint);
      let running: Running;
      try {
        running = spare ? await this.#claimOrStart(sessionId, spare) : await this.#coldStart(sessionId);
        this.#running.set(sessionId, running);
      } finally {
        this.#cap.started(sessionId);
      }
      this.#trafficOnceAnswered(agentGroupId, running);
    });
  }

  /**
   * Tells the spare pool of the group's traffic (which boots its next spare)
   * once `running`'s agent has written its first reply, its sandbox ended, or
   * the start cap passed: a boot is a cold start, which on a small host
   * would take the cores and this plane's event loop from that first turn.
   */
  #trafficOnceAnswered(agentGroupId: string, running: Running): void {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const traffic = () => {
      if (timer === undefined) return; // told already
      clearTimeout(timer);
      this.#trafficTimers.delete(timer);
      timer = undefined;
      this.#spares.traffic(agentGroupId);
    };
    timer = setTimeout(traffic, this.#d.startSlotCapMs ?? START_SLOT_CAP_MS);
    this.#trafficTimers.add(timer);
    running.ends.answered.then(traffic);
    running.handle.exited.then(traffic, traffic);
  }

  async #coldStart(sessionId: SessionId): Promise<Running> {
    await this.#makeRoom(sessionId);
    return await this.#start(sessionId);
  }

  /** Claims `spare` for the session; a spare that cannot serve it is let go and the session starts cold. */
  async #claimOrStart(sessionId: SessionId, spare: Spare): Promise<Running> {
    try {
      const running = await this.#claim(sessionId, spare);
      this.#spares.served(spare.agentGroupId);
      return running;
    } catch (err) {
      this.#log.warn("session {sessionId} could not claim warm spare {spare} ({error}); starting it cold", {
        sessionId,
        spare: spare.id,
        error: err instanceof Error ? err.message : String(err),
      });
      await this.#discardSpare(spare);
      return await this.#coldStart(sessionId);
    }
  }

  /** Sandboxes started, not stopping and not exited. */
  #live(): SessionId[] {
    return [...this.#running].filter(([, r]) => !r.stopping && !r.exited).map(([id]) => id);
  }

  /** The group's launch spec as it stands (a spare booted with another is not handed out), or undefined when gone. */
  #fingerprint(agentGroupId: string): string | undefined {
    try {
      return JSON.stringify(this.#d.registry.getLaunchSpec(agentGroupId));
    } catch {
      return undefined;
    }
  }

  /** The directory that holds every session's queue directory. */
  #sessionsRoot(): string {
    return dirname(this.#d.queues.paths("spare-root" as SessionId).dir);
  }

  /** Finishes a claim a dead host left half done, and removes its unclaimed spares' directories (once). */
  #recoverOnce(): void {
    if (this.#recovered) return;
    this.#recovered = true;
    const { finished, removed } = recoverSpares(this.#sessionsRoot());
    if (finished.length || removed) {
      this.#log.info(
        "after the last run: {finished} claim(s) of a warm spare finished, {removed} spare(s) removed",
        {
          finished: finished.length,
          removed,
        },
      );
    }
  }

  /** At the cap, stops the least recently used idle sandbox(es) before `sessionId`'s starts. */
  async #makeRoom(sessionId: SessionId): Promise<void> {
    // Spares are the cheapest to lose: they go first.
    while (
      this.#live().filter((id) => id !== sessionId).length + this.#spares.count() >= this.#cap.max &&
      await this.#spares.discardOne()
    );
    const evict = this.#d.evict ?? ((id: SessionId) => this.stop(id));
    const evicted = await this.#cap.admit(sessionId, {
      live: () => this.#live(),
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
    running.ends.doorbell.ring();
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
    // Spares were booted with the old spec: they go, and new ones boot at the group's next launch.
    const spares = await this.#spares.discardGroup(agentGroupId);
    if (spares) {
      this.#log.info("let go of {spares} warm spare(s) of {agentGroupId} after a change", {
        spares,
        agentGroupId,
      });
    }
    const sessions = this.sessions(agentGroupId);
    await this.stopMany(sessions, async (sessionId) => {
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
    });
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
    for (const timer of this.#trafficTimers) clearTimeout(timer);
    this.#trafficTimers.clear();
    try {
      await this.#spares.close();
      await this.stopMany([...this.#running.keys()]);
    } finally {
      await this.#volumes.close();
    }
  }

  /**
   * Stops sessions' sandboxes through `stop` (default: this manager's; a
   * respawn's stops and wakes again),
   * {@link STOP_PARALLEL} at a time: each stop is runtime calls (`runsc kill`,
   * `delete`) that take seconds under load. One that fails or outlasts
   * {@link STOP_PATIENCE_MS} is logged and holds none of the others.
   */
  async stopMany(
    sessionIds: SessionId[],
    stop: (sessionId: SessionId) => Promise<void> = (sessionId) => this.stop(sessionId),
  ): Promise<void> {
    await eachBounded(
      sessionIds,
      (sessionId) =>
        stop(sessionId).catch((err) =>
          this.#log.warn("stopping session {sessionId}: {error}", { sessionId, error: String(err) })
        ),
      {
        limit: STOP_PARALLEL,
        patienceMs: STOP_PATIENCE_MS,
        onOverdue: (sessionId) =>
          this.#log.warn(
            "stopping session {sessionId} has taken over {seconds} s; the others go on without it",
            {
              sessionId,
              seconds: STOP_PATIENCE_MS / 1000,
            },
          ),
      },
    );
  }

  async #start(sessionId: SessionId): Promise<Running> {
    const d = this.#d;
    const session = d.registry.getSession(sessionId);
    const spec = d.registry.getLaunchSpec(session.agentGroupId);
    const args = agentArgs(spec, { defaultProvider: d.defaultProvider, pollMs: d.pollMs });
    // Resolved again at every launch: a directory moved or swapped for a symlink since its approval is refused.
    const mounts = resolveLaunchMounts(spec, d.mounts);
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
    const ends = await this.#openEnds(sessionId, {
      agentGroupId: session.agentGroupId,
      socketDir: dirs.socketDir,
    });
    try {
      // Up at its agent's first lease request, asked for once the slot is held (an earlier one is another start's).
      const { handle, endStart } = await this.#launchInSlot(isolator, {
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
        mounts,
      }, () => ends.lease?.nextAgentRequest());
      this.#log.info("launched session {sessionId} of {agentGroupId} with {isolator}", {
        sessionId,
        agentGroupId: session.agentGroupId,
        isolator: isolator.kind,
      });
      return this.#track(sessionId, { agentGroupId: session.agentGroupId, handle, ends, endStart });
    } catch (err) {
      await ends.close().catch(() => {});
      throw err;
    }
  }

  /**
   * Launches `spec`, under gVisor in a start slot: a start beyond the limit
   * waits for another to end (`start_slots.ts`). The slot is given back once
   * `up()` (asked once the slot is held) settles, the sandbox ends, or the
   * cap passes; `endStart` gives it back early (a stop). A failed launch gives it back at once.
   */
  async #launchInSlot(
    isolator: Isolator,
    spec: LaunchSpec,
    up: () => Promise<void> | undefined,
  ): Promise<{ handle: SandboxHandle; endStart: () => void }> {
    const slot = isolator.strength === "gvisor" ? await this.#startSlots.acquire() : undefined;
    try {
      if (this.#closed) throw new Error("the sandbox manager is closed");
      const upSignal = slot && up();
      const handle = await isolator.launch(spec);
      return { handle, endStart: slot ? this.#endStartWhenUp(slot, upSignal, handle) : () => {} };
    } catch (err) {
      slot?.();
      throw err;
    }
  }

  /** The running record of a sandbox now serving `sessionId`, watched for an unasked exit. */
  #track(sessionId: SessionId, parts: Omit<Running, "stopping" | "exited">): Running {
    const running: Running = { ...parts, stopping: false, exited: false };
    running.handle.exited.then(() => running.exited = true, () => running.exited = true);
    this.#watch(sessionId, running);
    return running;
  }

  /**
   * Opens the session's host-owned sockets in `socketDir`: the model
   * proxy's, each broker's (egress, MCP), and the doorbell serving its queue lease.
   * The one place for them: a cold launch and a spare's claim both come
   * here, so a new per-session socket reaches spares too.
   */
  async #openEnds(
    sessionId: SessionId,
    at: { agentGroupId: string; socketDir: string },
  ): Promise<SessionEnds> {
    const d = this.#d;
    const lease = d.queues.lease?.(sessionId);
    let answer = () => {};
    const answered = new Promise<void>((resolve) => answer = resolve);
    const doorbell = new Doorbell(`${at.socketDir}/${DOORBELL_SOCKET_NAME}`, {
      onOutbound: () => {
        answer();
        this.#cap.touch(sessionId);
        d.onOutbound(sessionId);
      },
      lease,
    });
    const close = async () => {
      await doorbell.close();
      await d.proxy.closeSession(sessionId);
      for (const [, broker] of this.#brokers()) await broker.closeSession(sessionId);
    };
    try {
      await d.proxy.openSession(sessionId, `${at.socketDir}/${MODEL_SOCKET_NAME}`);
      for (const [name, broker] of this.#brokers()) {
        await broker.openSession(sessionId, {
          agentGroupId: at.agentGroupId,
          socketPath: `${at.socketDir}/${name}`,
        });
      }
      await doorbell.start();
    } catch (err) {
      await close().catch(() => {});
      throw err;
    }
    return { doorbell, lease, answered, close };
  }

  /**
   * Boots a warm spare of the group: its own empty directories, bound as a
   * session's would be, an empty key file and a claim socket to wait on.
   * Undefined when the group or backend takes none.
   */
  async #bootSpare(agentGroupId: string): Promise<Spare | undefined> {
    const d = this.#d;
    if (this.#closed) return undefined;
    this.#recoverOnce();
    const isolator = await d.isolator();
    const spec = d.registry.getLaunchSpec(agentGroupId);
    // A person's memory may be bound by their other sessions at the same time: it cannot be moved into a spare.
    if (!SPARE_BACKENDS.has(isolator.kind) || spec.memoryPartition === "user") return undefined;
    const fingerprint = JSON.stringify(spec);
    const args = [...agentArgs(spec, { defaultProvider: d.defaultProvider, pollMs: d.pollMs }), "--spare=1"];
    // Bound at boot like a cold launch's, resolved now: a spare is a launch of the group's spec.
    const mounts = resolveLaunchMounts(spec, d.mounts);
    const program = await d.program();
    const id = newSpareId();
    const volumes = await this.#volumes.ensure(agentGroupId);
    const ownMemory = spec.memoryPartition === "session";
    if (ownMemory) await this.#volumes.ensurePartitioned(agentGroupId);
    const dirs = spareDirs(id, {
      root: d.root,
      sessionsRoot: this.#sessionsRoot(),
      agentGroupId,
      // Beside where the session's own will be: on the group's outbox volume when it has one.
      outboxLimited: volumes.outbox.limited,
      ownMemory,
    });
    recordSpareDirs(dirs);
    makeSpareDirs(dirs, d.sandboxOwner);
    const claim = await ClaimSocket.open(dirs.socketDir);
    try {
      // Up once it waits for its claim.
      const { handle, endStart } = await this.#launchInSlot(isolator, {
        sessionId: id,
        ...spareLaunchDirs(dirs),
        library: d.library,
        denoPath: d.denoPath ?? Deno.execPath(),
        program,
        args,
        limits: d.limits,
        mounts,
      }, () => claim.waiting);
      this.#log.info("warm spare {spare} of {agentGroupId} started", { spare: id, agentGroupId });
      const spare: Spare = {
        id,
        agentGroupId,
        fingerprint,
        exited: handle.exited,
        dirs,
        mounts,
        handle,
        claim,
        endStart,
        ended: false,
      };
      handle.exited.then(() => spare.ended = true, () => spare.ended = true);
      return spare;
    } catch (err) {
      claim.close();
      removeSpareDirs(dirs);
      throw err;
    }
  }

  /**
   * Hands `spare` to the session: checks it is alive, fresh and fit for the
   * session's memory, moves the session's files into its directories (in a
   * host turn of the session's lease), opens the session's sockets in its
   * socket directory and gives it the key. From then on it is the session's
   * sandbox, like a cold launch's.
   */
  async #claim(sessionId: SessionId, spare: Spare): Promise<Running> {
    const d = this.#d;
    const session = d.registry.getSession(sessionId);
    const spec = d.registry.getLaunchSpec(session.agentGroupId);
    // Its supervised child's exit, not `alive()`: under runsc that spawns `runsc state` (~40 ms on the first
    // reply's path). A sandbox that dies before the key is handed fails the hand-over below instead.
    if (spare.ended) throw new Error("its sandbox is not running");
    // Resolved again, as at every launch: a mount moved out since the spare booted refuses the claim (and then
    // the cold start); one that now resolves elsewhere lets the spare go.
    if (JSON.stringify(resolveLaunchMounts(spec, d.mounts)) !== JSON.stringify(spare.mounts)) {
      throw new Error("its mounts no longer resolve to the directories it bound");
    }
    const waitMs = d.startSlotCapMs ?? START_SLOT_CAP_MS;
    // A spare that ends first (a bad start) fails the claim at once rather than at the deadline.
    const ended = spare.handle.exited.then(() => {
      throw new Error("its sandbox ended");
    });
    // A spare rehearses its first turn on scratch files in its own directories before it waits on its claim
    // socket: they are judged once it waits (a claim during its boot waits for it, as the hand-over did).
    await Promise.race([spare.claim.agentWaiting(waitMs), ended]);
    const left = unexpectedEntries(spare.dirs);
    if (left.length) throw new Error(`its directories are not empty (${left.slice(0, 3).join(", ")})`);
    const memoryDir = await this.#memoryDir(session, spec.memoryPartition);
    const key = await d.queues.sessionKey(sessionId);
    const paths = d.queues.paths(sessionId);
    const dirs = sessionDirs(d.root, sessionId, session.agentGroupId);
    const pairs: AdoptPair[] = [
      { from: spare.dirs.inboundDir, to: paths.inboundDir, keep: true },
      { from: spare.dirs.outboundDir, to: paths.outboundDir, keep: true },
      { from: spare.dirs.workspaceDir, to: dirs.workspaceDir, keep: true },
      { from: spare.dirs.socketDir, to: dirs.socketDir, keep: false },
    ];
    if (spare.dirs.ownMemory) pairs.push({ from: spare.dirs.memoryDir, to: memoryDir, keep: true });
    else if (memoryDir !== spare.dirs.memoryDir) {
      throw new Error("the session's memory is not the one it has bound");
    }
    // The move in a host turn: no host transaction runs on the session's files while they change directory.
    await d.queues.lease?.(sessionId)?.hold();
    claimInto(spare.dirs, { sessionId, pairs });
    const ends = await this.#openEnds(sessionId, {
      agentGroupId: session.agentGroupId,
      socketDir: dirs.socketDir,
    });
    try {
      await Promise.race([spare.claim.hand(key, waitMs), ended]);
    } catch (err) {
      await ends.close().catch(() => {});
      throw err;
    }
    this.#log.info("session {sessionId} of {agentGroupId} claimed warm spare {spare}", {
      sessionId,
      agentGroupId: session.agentGroupId,
      spare: spare.id,
    });
    return this.#track(sessionId, {
      agentGroupId: session.agentGroupId,
      handle: spare.handle,
      ends,
      endStart: spare.endStart,
    });
  }

  /** Stops a spare that will serve no session and removes its directories (a claimed one's are the session's now). */
  async #discardSpare(spare: Spare): Promise<void> {
    spare.claim.close();
    spare.endStart();
    await spare.handle.stop().catch((err) =>
      this.#log.warn("stopping warm spare {spare}: {error}", { spare: spare.id, error: String(err) })
    );
    try {
      removeSpareDirs(spare.dirs);
    } catch (err) {
      this.#log.warn("removing warm spare {spare}'s directories: {error}", {
        spare: spare.id,
        error: String(err),
      });
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
      await running.ends.close();
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
