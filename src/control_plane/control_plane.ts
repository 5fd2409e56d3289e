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
import { Prices, type PriceTable, UsageDay, UsageMeter } from "../usage/mod.ts";
import type { AgentGroupId, SessionId } from "../../contract/ids.ts";
import type { ProviderKind } from "../../contract/sockets.ts";
import { SANDBOX_LAYOUT } from "../../contract/permissions.ts";
import { resolveLibraryPath } from "../../contract/sqlite/mod.ts";
import {
  defaultKeyRoot,
  type Isolator,
  type IsolatorPreference,
  type ToolServerSandbox,
  toolServerSandbox,
} from "../../isolator/mod.ts";
import type { AuditLog } from "../audit/mod.ts";
import {
  ChannelConfigStore,
  channelKind,
  type RunningChannel,
  type WebChat,
  WorkspaceFiles,
} from "../channels/mod.ts";
import {
  type ChannelAdapter,
  type ChannelAdapters,
  type Delivery,
  modelFailureNotice,
  type SessionNotices,
} from "../delivery/mod.ts";
import type { Gateway } from "../gateway/mod.ts";
import type { CustodyOptions, KeyCustodian } from "../keys/mod.ts";
import { logger } from "../log/mod.ts";
import type { Counter, MetricsRegistry } from "../metrics/mod.ts";
import {
  type CredentialSource,
  envCredentials,
  ModelProxy,
  type UpstreamConfig,
} from "../model_proxy/mod.ts";
import type { QuestionDesk, QuestionStore } from "../questions/mod.ts";
import type { Registry } from "../registry/mod.ts";
import type { Router } from "../router/mod.ts";
import {
  mcpSandboxDir,
  type PlaneKeyRoots,
  planeKeyRoots,
  removeLeftovers,
  removeLeftoversOfLastRun,
} from "./leftovers.ts";
import {
  AgentProgram,
  chooseIsolator,
  givenIsolator,
  type IsolatorChoice,
  type SandboxManager,
} from "../sandbox/mod.ts";
import type { FloodLimits, Scheduler, TaskStore } from "../scheduling/mod.ts";
import type { BacklogGate, SessionQueueStore } from "../session/mod.ts";
import type { ChangeStore, StateDb } from "../state/mod.ts";
import type { Sweep } from "../sweep/mod.ts";
import type { GuardedWaker, RespawnBackoff } from "../wake/mod.ts";
import { type Flow, wireFlow } from "./flow.ts";
import type { RegistryEdits } from "./registry_edits.ts";
import { type PlaneSandboxes, planeSandboxes } from "./sandboxes.ts";
import { openStores, type Stores } from "./stores.ts";
import { type EgressSettings, type OpenEgress, openEgress } from "../egress/mod.ts";
import type { VaultStore } from "../vault/mod.ts";
import {
  GrantedTools,
  type McpCatalog,
  McpConnections,
  McpOffers,
  type McpPins,
  type McpTransportOptions,
  mcpTransports,
  type OpenMcpBroker,
  openMcpBroker,
  registrationProblem,
  type StdioPlacement,
  stdioPlacement,
} from "../mcp/mod.ts";
import { parseAllowPrivate, PrivateAllowance } from "../egress/mod.ts";
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
  /** How many sandboxes may be live at once (`serve --max-sandboxes`; default: half the host's memory at 256 MiB each). */
  maxSandboxes?: number;
  /** Stop a sandbox idle this long, in ms (`serve --idle-stop`; 0 keeps sandboxes up; default 10 min). */
  idleStopMs?: number;
  /** Warm spares per agent group with recent traffic (`serve --warm-spares`; default 0 here, serve's 1). */
  warmSpares?: number;
  /** Channel adapters besides the web chat (delivery sends replies to them by channel type). */
  channels?: readonly ChannelAdapter[];
  /** Start the background loops: delivery, scheduler, sweep (default true). */
  background?: boolean;
  /**
   * Unanswered inbound messages a session may hold before the router and
   * agent-to-agent sends refuse new ones (default `DEFAULT_INBOUND_BACKLOG_CAP`, 200).
   */
  inboundBacklogCap?: number;
  /** Caps on an agent's tasks and open questions, and the shortest recurrence (`serve --min-recurrence`). */
  floodLimits?: FloodLimits;
  /** The egress broker's operator settings (private exceptions, search backend). */
  egress?: EgressSettings;
  /** How the master key is kept (default: file custody for a new key; an existing key as found). */
  keyCustody?: CustodyOptions;
  /** Model prices overriding the shipped table (`serve --model-prices FILE`). */
  modelPrices?: PriceTable;
  /** The usage day's offset from UTC in minutes (`serve --usage-day-offset`; default 0: days end at UTC midnight). */
  usageDayOffsetMinutes?: number;
  /** MCP: run stdio servers as bare host processes (`serve --mcp-allow-host-process`; weaker, labelled in `status`). */
  mcpAllowHostProcess?: boolean;
}

/** What {@link ControlPlane.open} has opened before it builds the plane. */
interface Opened {
  stores: Stores;
  agentProgram: AgentProgram;
  releaseLock: () => void;
  /** This plane's own key roots for its sandboxes' session-key copies (see `leftovers.ts`). */
  keyRoots: PlaneKeyRoots;
}

/** Every open subsystem, sharing one state directory. */
export class ControlPlane {
  readonly metrics: MetricsRegistry;
  /** Terminal gateway decisions, by outcome. */
  readonly decisions: Counter;
  readonly stateDir: string;
  readonly keys: KeyCustodian;
  readonly state: StateDb;
  readonly registry: Registry;
  readonly changes: ChangeStore;
  readonly audit: AuditLog;
  /** Third-party API secrets and their grants (the egress broker injects them). */
  readonly vault: VaultStore;
  readonly gateway: Gateway;
  readonly tasks: TaskStore;
  readonly questions: QuestionStore;
  readonly queues: SessionQueueStore;
  /** The per-session inbound backlog cap (back-pressure), shared by the router and delivery. */
  readonly backlog: BacklogGate;
  readonly proxy: ModelProxy;
  /** Model usage per agent group and day, fed by the proxy. */
  readonly usage: UsageMeter;
  /** The egress broker with its audit file. */
  readonly egress: OpenEgress;
  /** The MCP servers a human registered. */
  readonly mcpCatalog: McpCatalog;
  /** What each MCP grant showed the human, and the pins of approved ones. */
  readonly mcpPins: McpPins;
  /** The host's SDK client connections to the catalogued MCP servers. */
  readonly mcp: McpConnections;
  /** Each agent's granted MCP tools against what their servers offer now (a changed one is withheld). */
  readonly mcpGrants: GrantedTools;
  /** The per-session MCP broker (`mcp.sock`): sandboxes list and call their granted tools through it. */
  readonly mcpBroker: OpenMcpBroker;
  /** Stdio MCP servers run as bare host processes (`--mcp-allow-host-process`: weaker). */
  readonly mcpStdioOnHost: boolean;
  readonly sandboxes: SandboxManager;
  readonly backoff: RespawnBackoff;
  readonly waker: GuardedWaker;
  readonly sweep: Sweep;
  readonly router: Router;
  /** The web chat: sends console messages, takes the agents' replies, drains them (waiting). */
  readonly webChat: WebChat;
  /** Delivery's adapters by channel type (a channel may add itself after open). */
  readonly adapters: ChannelAdapters;
  readonly delivery: Delivery;
  /** Host notices to a session's chat (model failures, a sandbox that cannot start), rate-limited. */
  readonly notices: SessionNotices;
  readonly scheduler: Scheduler;
  readonly desk: QuestionDesk;
  /** Every registry write's audit line and restart; the API waits on `settled()` before answering a write. */
  readonly registryEdits: RegistryEdits;
  /** The agent program the sandboxes run, and how (bundle or compiled executable), decided at open. */
  readonly agentProgram: AgentProgram;
  #stores: Stores;
  #flow: Flow<PlaneSandboxes>;
  #releaseLock: () => void;
  #keyRoots: PlaneKeyRoots;
  #options: ControlPlaneOptions;
  #isolator?: Promise<IsolatorChoice>;
  /** The configured chat channels (Telegram, Slack, …) this plane runs. */
  #channels: RunningChannel[] = [];
  #mcpTransport: McpTransportOptions;
  /** The sandboxes' root and owner, as the sandbox manager has them (inbound files are placed with them). */
  #sandboxRoot: string;
  #ready = false;
  #notReadyReason = "starting";
  #log = logger("control-plane");

  private constructor(opened: Opened, options: ControlPlaneOptions) {
    const { stores } = opened;
    this.#stores = stores;
    this.stateDir = stores.stateDir;
    this.keys = stores.keys;
    this.state = stores.state;
    this.registry = stores.registry;
    this.changes = stores.changes;
    this.audit = stores.audit;
    this.vault = stores.vault;
    this.tasks = stores.tasks;
    this.questions = stores.questions;
    this.#releaseLock = opened.releaseLock;
    this.#keyRoots = opened.keyRoots;
    this.#options = options;
    this.agentProgram = opened.agentProgram;
    this.#sandboxRoot = `${stores.stateDir}/sandbox`;
    this.usage = new UsageMeter({
      store: stores.usage,
      budgets: stores.budgets,
      onBudgetSpent: ({ agentGroupId, changeId, message }) => {
        logger("model-proxy").warn("agent group {agentGroupId} spent its daily budget", { agentGroupId });
        stores.audit.append({ stage: "budget", changeId, kind: "budget", detail: message }).catch((error) =>
          logger("model-proxy").error("auditing a spent budget: {error}", { error: String(error) })
        );
      },
      groupOf: (session) => stores.registry.getSession(session).agentGroupId,
      prices: new Prices(options.modelPrices),
      day: new UsageDay(options.usageDayOffsetMinutes),
      onError: (error) =>
        logger("model-proxy").error("counting model usage: {error}", { error: String(error) }),
    });
    this.proxy = new ModelProxy({
      credentials: options.credentials ?? envCredentials(),
      upstreams: options.upstreams,
      onAudit: (record) => logger("model-proxy").debug("model call {host}{path} {status}", { ...record }),
      usage: this.usage,
      // Host-side, from the proxy's own view of the call: the chat hears why it gets no answer.
      onOperatorFailure: (session, cause) => {
        logger("model-proxy").warn("model call of session {session} failed: {cause}", { session, cause });
        void this.#flow.notices.notify(session, modelFailureNotice(cause));
      },
    });
    this.egress = openEgress(stores.stateDir, {
      ...options.egress,
      hosts: stores.egressHosts,
      credentials: (group, url) => stores.vault.headersFor(group, url),
      secrets: (name) => stores.vault.reveal(name),
    });
    this.mcpCatalog = stores.mcpCatalog;
    this.mcpPins = stores.mcpPins;
    this.#mcpTransport = {
      allowHostProcess: options.mcpAllowHostProcess,
      sandbox: () => this.#mcpSandbox(),
      secret: (name) => stores.vault.reveal(name),
      allowPrivate: new PrivateAllowance(parseAllowPrivate(options.egress?.allowPrivate ?? "")),
      resolve: options.egress?.resolve,
    };
    this.mcp = new McpConnections((name) => stores.mcpCatalog.get(name)?.config, {
      transports: mcpTransports(this.#mcpTransport),
    });
    this.mcpStdioOnHost = options.mcpAllowHostProcess === true;
    this.mcpGrants = new GrantedTools({
      grants: (group) =>
        stores.registry.hasAgentGroup(group) ? stores.registry.getAgentGroup(group).mcpGrants : [],
      pins: (group, server) => stores.mcpPins.pins(group, server),
      connections: this.mcp,
      onWithheld: async ({ agentGroupId, server, tool, changeId }) => {
        await stores.audit.append({
          stage: "verdict",
          changeId,
          kind: "mcp_access",
          detail:
            `mcp tool withheld from ${agentGroupId}: ${server}/${tool} changed its description or schema ` +
            "since this approval; re-approve with: ironclaw mcp grant",
        });
      },
    });
    this.mcpBroker = openMcpBroker(stores.stateDir, { granted: this.mcpGrants, connections: this.mcp });
    const program = opened.agentProgram;
    const flow = wireFlow(stores, {
      sandboxes: (ctx) =>
        planeSandboxes(ctx, {
          isolator: async () => (await this.isolator()).isolator,
          proxy: this.proxy,
          egress: this.egress.broker,
          mcp: this.mcpBroker.broker,
          root: this.#sandboxRoot,
          program: () => program.path(),
          defaultProvider: options.defaultProvider ?? (options.dev ? "mock" : "anthropic"),
          pollMs: options.agentPollMs,
          maxSandboxes: options.maxSandboxes,
          idleStopMs: options.idleStopMs,
          warmSpares: options.warmSpares,
          relaunchOnExit: () => this.#ready,
        }),
      channels: options.channels,
      mountPrefixes: options.mountPrefixes,
      mcpServers: new McpOffers({
        catalog: stores.mcpCatalog,
        connections: this.mcp,
        pins: stores.mcpPins,
        checkRegistration: (server) =>
          registrationProblem(server, {
            hasSecret: (name) => stores.vault.has(name),
            forbiddenPaths: this.#mcpForbiddenPaths(),
          }),
      }),
      inboundBacklogCap: options.inboundBacklogCap,
    });
    this.#flow = flow;
    this.metrics = flow.metrics;
    this.metrics.collect(this.usage);
    this.metrics.collect(this.proxy);
    this.decisions = flow.decisions;
    this.gateway = flow.gateway;
    this.queues = flow.queues;
    this.backlog = flow.backlog;
    this.sandboxes = flow.sandboxes.manager;
    this.backoff = flow.backoff;
    this.waker = flow.sandboxes.waker;
    this.sweep = flow.sandboxes.sweep;
    this.scheduler = flow.scheduler;
    this.router = flow.router;
    this.webChat = flow.webChat;
    this.adapters = flow.adapters;
    this.delivery = flow.delivery;
    this.notices = flow.notices;
    this.desk = flow.desk;
    this.registryEdits = flow.registryEdits;
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
    let stores: Stores | undefined;
    try {
      // Under the lock, before anything mounts or hands a key over: what a run that did not close left.
      const keyRoots = await planeKeyRoots(stateDir);
      await removeLeftoversOfLastRun(stateDir, keyRoots);
      stores = await openStores(stateDir, {
        library: options.library ?? resolveLibraryPath(),
        keyCustody: options.keyCustody,
        floodLimits: options.floodLimits,
      });
      const { registry } = stores;
      const plane = new ControlPlane({ stores, agentProgram, releaseLock: release, keyRoots }, options);
      if (options.dev) {
        seedDevDefaults(registry.as("dev-seed"));
        await plane.registryEdits.settled();
      }
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
        plane.#flow.start();
        await plane.#startChannels();
      }
      plane.#ready = true;
      if (options.background ?? true) plane.#wakeUnanswered();
      return plane;
    } catch (err) {
      await stores?.close();
      release();
      throw err;
    }
  }

  /**
   * The sandbox backend, chosen once (a failed choice is retried on the next
   * call). `serve` asks at start-up to say which one runs the agents.
   */
  /** Where stdio MCP servers run here: their own sandboxes, bare host processes (weaker), or refused. */
  mcpStdioPlacement(): Promise<StdioPlacement> {
    return stdioPlacement(this.#mcpTransport);
  }

  /** Stdio MCP servers run in sandboxes of the agents' backend when that is runsc or bwrap. */
  async #mcpSandbox(): Promise<ToolServerSandbox | { unavailable: string }> {
    let kind: string;
    try {
      kind = (await this.isolator()).isolator.kind;
    } catch (err) {
      return { unavailable: `no sandbox backend works here (${(err as Error).message})` };
    }
    if (kind !== "runsc" && kind !== "bwrap") {
      return { unavailable: `the agents' sandboxes here are ${kind}` };
    }
    return toolServerSandbox(kind, {
      stateDir: mcpSandboxDir(this.stateDir),
      forbiddenPaths: this.#mcpForbiddenPaths(),
    });
  }

  /** A declared path may never hand a server the plane's state or the sandboxes' session keys. */
  #mcpForbiddenPaths(): string[] {
    return [Deno.realPathSync(this.stateDir), defaultKeyRoot(), ...Object.values(this.#keyRoots)];
  }

  isolator(): Promise<IsolatorChoice> {
    if (!this.#isolator) {
      const { isolator } = this.#options;
      const choosing = typeof isolator === "object"
        ? Promise.resolve(givenIsolator(isolator))
        : chooseIsolator({
          preference: isolator,
          dev: this.#options.dev,
          stateDir: `${this.stateDir}/isolator`,
          keyRoot: this.#keyRoots.sandboxes,
          processKeyRoot: this.#keyRoots.process,
          // The backends run (and smoke-test) the compiled agent directly, or Deno with bundles.
          agentExecutable: this.agentProgram.executable,
        });
      this.#isolator = choosing;
      choosing.then(
        // Debug: `serve` prints the same at start (`agents run in: …`), and once is enough.
        (choice) =>
          this.#log.debug("sandboxes: {label}; agent program: {program}", {
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
   * the group and its sessions go, their queue handles are closed, and its
   * workspace and memory are set aside under `sandbox/deleted/`. Returns the deleted sessions. `by` is who deletes it, as its audit line
   * names them (default: the host).
   */
  async deleteAgentGroup(agentGroupId: string, options: { by?: string } = {}): Promise<SessionId[]> {
    const registry = options.by === undefined ? this.registry : this.registry.as(options.by);
    let removed: SessionId[] = [];
    await this.#flow.deleteAgentGroup(agentGroupId as AgentGroupId, () => {
      removed = registry.deleteAgentGroup(agentGroupId);
    });
    return removed;
  }

  /** Whether the control plane serves requests, and why not. */
  readiness(): { ready: true } | { ready: false; reason: string } {
    return this.#ready ? { ready: true } : { ready: false, reason: this.#notReadyReason };
  }

  /**
   * Closes everything and releases the state directory: the chat channels,
   * the message path (chat waits, the loops: sweep, scheduler, delivery;
   * every sandbox, the waker and the queues), the model proxy, the audit log
   * and state database, and last anything still mounted under the state
   * directory and the key root with its session-key copies.
   */
  async close(): Promise<void> {
    this.#ready = false;
    this.#notReadyReason = "shutting down";
    try {
      for (const channel of this.#channels) await channel.stop();
      await this.#flow.close();
      await this.proxy.close();
      await this.egress.close();
      await this.mcpBroker.close();
      await this.mcp.close();
      await this.#stores.close();
    } finally {
      // Whatever failed above, nothing of this run stays mounted and no key copy stays in /dev/shm.
      await removeLeftovers(this.stateDir, this.#keyRoots).catch((err) =>
        this.#log.warn("removing this run's mounts and key copies: {error}", { error: String(err) })
      );
      this.#releaseLock();
    }
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

  /** The webhook endpoint of the configured channel `type`, when it runs in webhook mode. */
  channelWebhook(type: string): ((request: Request) => Promise<Response>) | undefined {
    const channel = this.#channels.find((c) => c.name === type);
    return channel?.mode === "webhook" ? channel.webhookHandler?.() : undefined;
  }

  /**
   * Starts every configured chat channel (`ironclaw channel add`), through
   * the channel registry; a platform's library is loaded only then, so a
   * plane without channels starts lean. Inbound files go into the workspace
   * of each session a message reaches, on its group's volume (mounted
   * through the sandbox manager's instance). A channel that cannot open (an
   * unset token variable) fails the start, naming the variable.
   */
  async #startChannels(): Promise<void> {
    const configs = new ChannelConfigStore(this.state).list();
    if (configs.length === 0) return;
    const files = new WorkspaceFiles({
      root: this.#sandboxRoot,
      sandboxOwner: this.#flow.sandboxOwner,
      // The sandboxes bind the session's workspace at /workspace; the process backend runs on the host path itself.
      agentWorkspace: async (hostDir) =>
        (await this.isolator()).isolator.kind === "process" ? hostDir : SANDBOX_LAYOUT.workspace,
    });
    const deps = { state: this.state, registry: this.registry, router: this.router, desk: this.desk, files };
    try {
      for (const config of configs) {
        const kind = channelKind(config.type);
        if (!kind) {
          this.#log.warn("channel {name} is of a type this build does not run ({type}); skipped", {
            name: config.name,
            type: config.type,
          });
          continue;
        }
        const channel = await kind.open(config, deps);
        this.adapters.add(channel);
        await channel.start();
        this.#channels.push(channel);
        this.#log.info("{type} channel started ({mode})", { type: config.type, mode: channel.mode });
      }
    } catch (err) {
      for (const channel of this.#channels) await channel.stop();
      this.#channels = [];
      throw err;
    }
  }
}
