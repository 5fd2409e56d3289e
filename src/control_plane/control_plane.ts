/**
 * The control plane's composition over one locked state directory: key
 * custody, the encrypted state database, registry, change store, audit log,
 * metrics and gateway; and the message path: session queues, the router,
 * the web chat, delivery, the scheduler, the question desk, the model proxy,
 * the sandbox manager behind the guarded waker, and the sweep. Opened
 * together and closed together.
 *
 * A message's journey: a channel (the web chat) routes it into a session's
 * inbound queue and wakes the session; the waker launches its sandbox (or
 * rings its doorbell); the agent answers through the model proxy and rings
 * back; delivery carries the reply to the channel.
 *
 * @module
 */
import type { SessionId } from "../../contract/ids.ts";
import type { ProviderKind } from "../../contract/sockets.ts";
import { SANDBOX_LAYOUT } from "../../contract/permissions.ts";
import { resolveLibraryPath } from "../../contract/sqlite/mod.ts";
import type { Isolator, IsolatorPreference } from "../../isolator/mod.ts";
import { SANDBOX_GID, SANDBOX_UID } from "../../isolator/mod.ts";
import { AUDIT_LOG_FILE, AuditLog } from "../audit/mod.ts";
import { ChannelConfigStore } from "../channels/telegram/channel_config.ts";
import { TELEGRAM_CHANNEL } from "../channels/telegram/inbound.ts";
import type { TelegramAdapter } from "../channels/telegram/mod.ts";
import { WebChat } from "../channels/web_chat.ts";
import { type ChannelAdapter, ChannelAdapters, Delivery } from "../delivery/mod.ts";
import { captureBefore, Gateway, registryApplier, RESPAWN_KINDS, standardVerifiers } from "../gateway/mod.ts";
import { KeyCustodian, STATE_DB_KEY_ID } from "../keys/mod.ts";
import { logger } from "../log/mod.ts";
import { MetricsRegistry } from "../metrics/mod.ts";
import {
  type CredentialSource,
  envCredentials,
  ModelProxy,
  type UpstreamConfig,
} from "../model_proxy/mod.ts";
import { QuestionDesk, QuestionStore } from "../questions/mod.ts";
import { Registry } from "../registry/mod.ts";
import { Router } from "../router/mod.ts";
import { chooseIsolator, givenIsolator, type IsolatorChoice, SandboxManager } from "../sandbox/mod.ts";
import { AgentProgram } from "../sandbox/agent_program.ts";
import { Scheduler, TaskStore } from "../scheduling/mod.ts";
import { type QueueDamagedError, SessionQueueStore } from "../session/queues.ts";
import { BacklogGate } from "../session/backlog.ts";
import { ChangeStore, StateDb } from "../state/mod.ts";
import { GuardedWaker, QueueProbe, RegistryParking, RespawnBackoff, Sweep } from "../sweep/mod.ts";
import type { ChangeRequest } from "../../contract/gateway.ts";
import { ChatInbox } from "./chat_inbox.ts";
import { lockStateDir } from "./state_dir.ts";
import { seedDevDefaults } from "./seed.ts";

/** How to open a control plane. */
export interface ControlPlaneOptions {
  stateDir: string;
  /** Seed the dev defaults (the `demo` agent); allows the unsandboxed process backend; mock provider by default. */
  dev?: boolean;
  /** Host directories under which approved mounts may lie (default `<state-dir>/mounts`). */
  mountPrefixes?: readonly string[];
  /** libsqlcipher (default: resolved from the environment or the build cache). */
  library?: string;
  /**
   * The sandbox backend (default `auto`: runsc on the ptrace platform when it
   * works here, else bwrap; the process backend only in dev). Chosen on the
   * first launch, or at once by {@link ControlPlane.isolator}. A backend
   * object is used as given (built with `agentExecutable` when the agent
   * program is an executable).
   */
  isolator?: IsolatorPreference | Isolator;
  /** Provider secrets for the model proxy (default: `ANTHROPIC_API_KEY` etc. from the environment). */
  credentials?: CredentialSource;
  /** Extra model upstreams (local model servers). */
  upstreams?: readonly UpstreamConfig[];
  /** Provider of agent groups that name none (default `mock` in dev, else `anthropic`). */
  defaultProvider?: ProviderKind;
  /**
   * The compiled `ironclaw-agent`, run directly in the sandboxes with its
   * baked-in flags (`serve --agent-program`, `$IRONCLAW_AGENT_PROGRAM`). A
   * compiled host looks beside its own executable when this is absent; a
   * host run from source bundles the agent instead.
   */
  agentExecutable?: string;
  /** Where {@link agentExecutable} was given, for messages (e.g. `--agent-program`). */
  agentExecutableFrom?: string;
  /**
   * A ready agent bundle, run by Deno (default from source: `sandbox-agent/main.ts`
   * bundled on the first launch). Not for a compiled host, which has no Deno.
   */
  agentProgram?: string;
  /** The agent's fallback poll interval in ms (default: the agent's own). */
  agentPollMs?: number;
  /** Channel adapters besides the web chat (delivery sends replies to them by channel type). */
  channels?: readonly ChannelAdapter[];
  /** Start the background loops: delivery, scheduler, sweep (default true). */
  background?: boolean;
  /**
   * Unanswered inbound messages a session may hold before the router and
   * agent-to-agent sends refuse new ones (default `DEFAULT_INBOUND_BACKLOG_CAP`, 200).
   */
  inboundBacklogCap?: number;
}

/** The subsystems, built in {@link ControlPlane.open}. */
interface Parts {
  stateDir: string;
  keys: KeyCustodian;
  state: StateDb;
  registry: Registry;
  changes: ChangeStore;
  audit: AuditLog;
  library: string;
  agentProgram: AgentProgram;
  releaseLock: () => void;
}

/** Every open subsystem, sharing one state directory. */
export class ControlPlane {
  readonly metrics = new MetricsRegistry();
  readonly decisions = this.metrics.counter(
    "ironclaw_gateway_decisions_total",
    "Terminal gateway decisions, by outcome.",
  );
  readonly stateDir: string;
  readonly keys: KeyCustodian;
  readonly state: StateDb;
  readonly registry: Registry;
  readonly changes: ChangeStore;
  readonly audit: AuditLog;
  readonly gateway: Gateway;
  readonly tasks: TaskStore;
  readonly questions: QuestionStore;
  readonly queues: SessionQueueStore;
  /** The per-session inbound backlog cap (back-pressure), shared by the router and delivery. */
  readonly backlog: BacklogGate;
  readonly proxy: ModelProxy;
  readonly sandboxes: SandboxManager;
  readonly backoff: RespawnBackoff;
  readonly waker: GuardedWaker;
  readonly sweep: Sweep;
  readonly router: Router;
  readonly webChat: WebChat;
  /** The web chat's replies, with waiting drains. */
  readonly chatInbox: ChatInbox;
  /** Delivery's adapters by channel type (a channel may add itself after open). */
  readonly adapters: ChannelAdapters;
  readonly delivery: Delivery;
  readonly scheduler: Scheduler;
  readonly desk: QuestionDesk;
  /** The agent program the sandboxes run, and how (bundle or compiled executable), decided at open. */
  readonly agentProgram: AgentProgram;
  #releaseLock: () => void;
  #options: ControlPlaneOptions;
  #isolator?: Promise<IsolatorChoice>;
  #telegram?: TelegramAdapter;
  /** The sandboxes' root and owner, as the sandbox manager has them (inbound files are placed with them). */
  #sandboxRoot: string;
  #sandboxOwner?: { uid: number; gid: number };
  #ready = false;
  #notReadyReason = "starting";
  #log = logger("control-plane");

  private constructor(parts: Parts, options: ControlPlaneOptions) {
    const { stateDir, state, registry, audit, library } = parts;
    this.stateDir = stateDir;
    this.keys = parts.keys;
    this.state = state;
    this.registry = registry;
    this.changes = parts.changes;
    this.audit = audit;
    this.#releaseLock = parts.releaseLock;
    this.#options = options;
    const hookLog = logger("gateway");
    this.gateway = new Gateway({
      store: parts.changes,
      audit,
      verifiers: standardVerifiers({
        registry,
        mounts: {
          allowedSourcePrefixes: options.mountPrefixes ?? [`${stateDir}/mounts`],
          targetPrefix: "/mnt",
        },
        egressEnabled: false,
        mcpServers: new Set(),
      }),
      apply: registryApplier(state, registry),
      captureBefore: (kind, group) => captureBefore(registry, kind, group),
      onDecision: (decision) => this.decisions.inc({ decision }),
      onApplied: (req) => this.#afterApply(req),
      onHookError: (req, err) =>
        hookLog.error("change {changeId} applied but its follow-up failed: {error}", {
          changeId: req.id,
          error: String(err),
        }),
    });
    this.tasks = new TaskStore(state);
    this.questions = new QuestionStore(state);
    // As root the agent runs as the sandbox's uid (the process backend, as root, reads them all the same).
    const sandboxed = Deno.uid() === 0 ? { uid: SANDBOX_UID, gid: SANDBOX_GID } : undefined;
    this.#sandboxOwner = sandboxed;
    this.#sandboxRoot = `${stateDir}/sandbox`;
    this.queues = new SessionQueueStore({
      root: `${stateDir}/sessions`,
      library,
      keys: parts.keys,
      registry,
      tasks: this.tasks,
      sandboxUid: sandboxed?.uid,
      sandboxGid: sandboxed?.gid,
      onDamaged: (err) => this.#parkDamaged(err),
    });
    this.backlog = new BacklogGate({
      queues: this.queues,
      cap: options.inboundBacklogCap,
      metrics: this.metrics,
    });
    this.proxy = new ModelProxy({
      credentials: options.credentials ?? envCredentials(),
      upstreams: options.upstreams,
      onAudit: (record) => logger("model-proxy").debug("model call {host}{path} {status}", { ...record }),
    });
    this.agentProgram = parts.agentProgram;
    const program = parts.agentProgram;
    this.sandboxes = new SandboxManager({
      registry,
      queues: this.queues,
      isolator: async () => (await this.isolator()).isolator,
      proxy: this.proxy,
      onOutbound: (sessionId) => this.delivery.notify(sessionId),
      // A crashed sandbox comes back through the backoff (and is parked if it keeps crashing).
      onExit: (sessionId) => {
        if (!this.#ready) return;
        this.waker.wake(sessionId).catch((err) =>
          this.#log.warn("relaunching session {sessionId} after its sandbox ended: {error}", {
            sessionId,
            error: String(err),
          })
        );
      },
      root: this.#sandboxRoot,
      library,
      program: () => program.path(),
      defaultProvider: options.defaultProvider ?? (options.dev ? "mock" : "anthropic"),
      pollMs: options.agentPollMs,
      sandboxOwner: sandboxed,
    });
    this.backoff = new RespawnBackoff({
      parking: new RegistryParking(registry),
      onPark: (sessionId, reason) =>
        this.#log.error("session {sessionId} parked, it needs an operator (then unpark it): {reason}", {
          sessionId,
          reason,
        }),
    });
    this.waker = new GuardedWaker({
      control: this.sandboxes,
      backoff: this.backoff,
      registry,
      metrics: this.metrics,
    });
    this.sweep = new Sweep({
      registry,
      control: this.sandboxes,
      probe: new QueueProbe({
        queues: this.queues,
        heartbeatPath: (sessionId) => this.sandboxes.heartbeatPath(sessionId),
      }),
      backoff: this.backoff,
      waker: this.waker,
    });
    this.scheduler = new Scheduler({ tasks: this.tasks, queues: this.queues, waker: this.waker });
    this.router = new Router({
      registry,
      queues: this.queues,
      waker: this.waker,
      gateway: this.gateway,
      metrics: this.metrics,
      onQueueDamaged: (err) => this.#parkDamaged(err),
      backlog: this.backlog,
    });
    this.webChat = new WebChat({ registry, router: this.router, state });
    this.chatInbox = new ChatInbox(this.webChat);
    this.adapters = new ChannelAdapters([this.chatInbox, ...options.channels ?? []]);
    this.delivery = new Delivery({
      registry,
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
    });
    this.desk = new QuestionDesk({ store: this.questions, queues: this.queues, waker: this.waker });
  }

  /** Opens everything under `stateDir` (created 0700), resumes interrupted applies, and becomes ready. */
  static async open(options: ControlPlaneOptions): Promise<ControlPlane> {
    const { stateDir } = options;
    // Before the state directory is touched: a compiled host without its agent executable cannot run agents.
    const agentProgram = new AgentProgram({
      executable: options.agentExecutable,
      executableFrom: options.agentExecutableFrom,
      program: options.agentProgram,
      buildDir: `${stateDir}/sandbox/program`,
    });
    const release = lockStateDir(stateDir);
    const opened: { close(): unknown }[] = [];
    try {
      const keys = await KeyCustodian.open(stateDir);
      const library = options.library ?? resolveLibraryPath();
      const state = StateDb.open(stateDir, { library, key: await keys.getOrCreate(STATE_DB_KEY_ID) });
      opened.push(state);
      const audit = await AuditLog.open(`${stateDir}/${AUDIT_LOG_FILE}`);
      opened.push(audit);
      const registry = new Registry(state);
      const plane = new ControlPlane(
        {
          stateDir,
          keys,
          state,
          registry,
          changes: new ChangeStore(state),
          audit,
          library,
          agentProgram,
          releaseLock: release,
        },
        options,
      );
      if (options.dev) seedDevDefaults(registry);
      const resumed = await plane.gateway.resume();
      if (resumed.applied.length) {
        plane.#log.info("applied {count} change(s) interrupted before a restart", {
          count: resumed.applied.length,
        });
      }
      for (const f of resumed.failed) {
        plane.#log.error("change {changeId} is approved but fails to apply: {error}", f);
      }
      // A sandbox recorded as running did not survive the restart that opened us.
      for (const session of registry.listSessions()) {
        if (session.containerStatus === "running" || session.containerStatus === "starting") {
          registry.setContainerStatus(session.id, "stopped");
        }
      }
      if (options.background ?? true) {
        plane.delivery.start();
        plane.scheduler.start();
        plane.sweep.start();
        await plane.#startTelegram();
      }
      plane.#ready = true;
      if (options.background ?? true) plane.#wakeUnanswered();
      return plane;
    } catch (err) {
      for (const o of opened.reverse()) await o.close();
      release();
      throw err;
    }
  }

  /**
   * The sandbox backend, chosen once (a failed choice is retried on the next
   * call). `serve` asks at start-up to say which one runs the agents.
   */
  isolator(): Promise<IsolatorChoice> {
    if (!this.#isolator) {
      const { isolator } = this.#options;
      const choosing = typeof isolator === "object"
        ? Promise.resolve(givenIsolator(isolator))
        : chooseIsolator({
          preference: isolator,
          dev: this.#options.dev,
          stateDir: `${this.stateDir}/isolator`,
          // The backends run (and smoke-test) the compiled agent directly, or Deno with bundles.
          agentExecutable: this.agentProgram.executable,
        });
      this.#isolator = choosing;
      choosing.then(
        (choice) =>
          this.#log.info("sandboxes: {label}; agent program: {program}", {
            label: choice.label,
            program: this.agentProgram.description,
          }),
        () => {
          if (this.#isolator === choosing) this.#isolator = undefined;
        },
      );
    }
    return this.#isolator;
  }

  /** Restarts the running sandboxes of a group (after a change to what they launch with). */
  respawnGroup(agentGroupId: string): Promise<number> {
    return this.sandboxes.respawnGroup(agentGroupId, this.waker);
  }

  /**
   * Deletes an agent group: its running sandboxes are stopped first, then
   * the group and its sessions go, and their queue handles are closed.
   * Returns the deleted sessions.
   */
  async deleteAgentGroup(agentGroupId: string): Promise<SessionId[]> {
    for (const sessionId of this.sandboxes.sessions(agentGroupId)) await this.waker.stop(sessionId);
    const sessions = this.registry.deleteAgentGroup(agentGroupId);
    for (const sessionId of sessions) {
      await this.sandboxes.stop(sessionId);
      await this.queues.forget(sessionId);
    }
    return sessions;
  }

  /** Whether the control plane serves requests, and why not. */
  readiness(): { ready: true } | { ready: false; reason: string } {
    return this.#ready ? { ready: true } : { ready: false, reason: this.#notReadyReason };
  }

  /**
   * Closes everything and releases the state directory: the loops first
   * (sweep, scheduler, delivery), then every sandbox, the waker and the
   * queues, the model proxy, and last the audit log and state database.
   */
  async close(): Promise<void> {
    this.#ready = false;
    this.#notReadyReason = "shutting down";
    this.chatInbox.close();
    await this.#telegram?.stop();
    await this.sweep.stop();
    await this.scheduler.stop();
    await this.delivery.stop();
    // In parallel: each stop waits for its runtime (runsc kill/delete), and the waker serialises per session.
    await Promise.all(
      this.sandboxes.sessions().map((sessionId) =>
        this.waker.stop(sessionId).catch((err) =>
          this.#log.warn("stopping session {sessionId}: {error}", { sessionId, error: String(err) })
        )
      ),
    );
    await this.sandboxes.close();
    this.waker.close();
    await this.queues.close();
    await this.proxy.close();
    await this.audit.close();
    this.state.close();
    this.#releaseLock();
  }

  /**
   * Wakes, in the background, every session left with unanswered work by the
   * previous run (a message queued before a crash has no one else to wake it).
   */
  #wakeUnanswered(): void {
    const sessions = this.registry.listSessions().filter((s) => s.containerStatus !== "parked");
    (async () => {
      for (const session of sessions) {
        if (!this.#ready) return;
        try {
          if (await this.queues.hasUnansweredWork(session.id)) await this.waker.wake(session.id);
        } catch (err) {
          this.#log.warn("waking session {sessionId} after the restart: {error}", {
            sessionId: session.id,
            error: String(err),
          });
        }
      }
    })();
  }

  /** The configured Telegram channel's webhook endpoint, when it runs in webhook mode. */
  telegramWebhook(): ((request: Request) => Promise<Response>) | undefined {
    return this.#telegram?.webhookMode ? this.#telegram.webhookHandler() : undefined;
  }

  /**
   * Starts the Telegram channel when one is configured (`ironclaw channel add
   * telegram`). grammY is loaded only then, so a plane without it starts lean.
   * Inbound files go into the workspace of each session a message reaches,
   * on its group's volume (mounted through the sandbox manager's instance).
   */
  async #startTelegram(): Promise<void> {
    if (!new ChannelConfigStore(this.state).find(TELEGRAM_CHANNEL)) return;
    const { openTelegramChannel } = await import("../channels/telegram/open.ts");
    const { WorkspaceFiles } = await import("../channels/telegram/workspace_files.ts");
    const files = new WorkspaceFiles({
      root: this.#sandboxRoot,
      sandboxOwner: this.#sandboxOwner,
      // The sandboxes bind the session's workspace at /workspace; the process backend runs on the host path itself.
      agentWorkspace: async (hostDir) =>
        (await this.isolator()).isolator.kind === "process" ? hostDir : SANDBOX_LAYOUT.workspace,
    });
    const telegram = openTelegramChannel({
      state: this.state,
      registry: this.registry,
      router: this.router,
      desk: this.desk,
      files,
    });
    if (!telegram) return;
    this.adapters.add(telegram);
    await telegram.start();
    this.#telegram = telegram;
    this.#log.info("telegram channel started ({mode})", {
      mode: telegram.webhookMode ? "webhook" : "polling",
    });
  }

  /**
   * Parks a session whose queue file is damaged, through the respawn backoff
   * (durably: the registry's `parked`), with the damage as its reason, so
   * `GET /v1/sessions/parked` names it; logged once, when it is parked.
   */
  #parkDamaged(err: QueueDamagedError): void {
    this.backoff.park(err.sessionId, `queue file damaged: ${err.message}; restore or remove the file`);
  }

  async #afterApply(req: ChangeRequest): Promise<void> {
    if (req.kind === "permissions") await this.queues.refreshDestinations(req.agentGroupId);
    if (RESPAWN_KINDS.has(req.kind)) await this.respawnGroup(req.agentGroupId);
  }
}
