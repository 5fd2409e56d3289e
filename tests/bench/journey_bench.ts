/**
 * The journey benchmark (issue #4): a real dev control plane (the `demo`
 * agent on the mock model) sandboxing each session's agent, its HTTP API on
 * loopback, and a chat client in its own process (`journey_client.ts`). For
 * 1, 10 and 50 concurrent sessions (each its own chat, session and sandbox)
 * it measures, in one run:
 *
 * - **cold start**: the isolator's `launch()` called → the agent's first
 *   poll, observed on the host as the session's second queue-lease request
 *   (the first opens the queues; every poll starts with a leased read). All
 *   sessions of a level start together, so the spread shows the contention.
 * - **cold turn**: the first message of a chat → its reply (launch included).
 * - **warm turn**: message in (`POST /v1/ui/chat/send`) → reply delivered
 *   (the long-polling drain returns it), client-observed, with a host-side
 *   breakdown (wake → doorbell ring → agent's lease request → outbound ring →
 *   handed to the web chat), and the cost of any runtime liveness check
 *   (`alive()`) during the warm phase: a wake trusts the supervised child's
 *   exit state, so only the sweep's probe asks the runtime.
 * - **idle memory per sandbox**: RSS (and PSS) summed over the sandbox's host
 *   processes (for runsc the `runsc run` parent, sentry, gofer and ptrace
 *   stubs; for bwrap its process tree), found by the session id in their
 *   command lines, after the agents went idle.
 * - **failed turns**: sends refused, wake errors, replies missing or wrong.
 *
 * Targets are printed next to the numbers; nothing here asserts a timing.
 * Results are JSON lines on stdout (`{name, value, unit}`); notes and a
 * summary table go to stderr. Sandboxes, temp dirs and key copies are removed
 * even on failure or SIGINT.
 *
 * Run: `scripts/deno run -A tests/bench/journey_bench.ts [--sessions 1,10,50]
 * [--isolator runsc|bwrap|process] [--turns N] [--budget-s S] [--verbose]`
 * (runsc on ptrace by default; if it does not work here, bwrap, then the
 * process backend, with a note). A level that cannot fit the time budget
 * (default 300 s) is skipped with a note; `--budget-s 0` runs every level.
 *
 * @module
 */
import process from "node:process";
import { resolveLibraryPath } from "../../contract/sqlite/mod.ts";
import {
  type Isolator,
  type IsolatorKind,
  isolators,
  releaseVolume,
  type SandboxHandle,
} from "../../isolator/mod.ts";
import { startApiServer } from "../../src/api/mod.ts";
import { ControlPlane, DEMO_AGENT_ID } from "../../src/control_plane/mod.ts";
import { AGENT_SOURCE, bundleAgent } from "../../src/sandbox/mod.ts";
import { DEFAULT_POLL_MS } from "../../sandbox-agent/config.ts";
import { keyRootFor } from "../support/isolator_harness.ts";
import { type CgroupStats, cgroupStats, memoryOf, pidsMentioning, processTree } from "./journey_procs.ts";
import { type BenchResult, percentile, printResult } from "./report.ts";

/** The targets: printed beside the measurements, never asserted. */
export const TARGETS = {
  coldStartP50Ms: 400,
  warmTurnP50Ms: 30,
  idleSandboxMiB: 80,
  /** Failed turns allowed with {@link TARGET_SESSIONS} concurrent sessions. */
  failedTurns: 0,
} as const;
/** The concurrency the failed-turns target speaks of. */
export const TARGET_SESSIONS = 50;

/** What to run. */
export interface JourneyOptions {
  /** Concurrent sessions per level (default 1, 10, 50). */
  sessions?: readonly number[];
  /** The backend (default runsc, falling back to bwrap, then process, with a note). */
  isolator?: IsolatorKind;
  /** Warm turns per session (default: enough for about 100 samples a level, at least 3). */
  turns?: number;
  /** Print the first sessions' start-up timelines (lease requests, agent log) to stderr. */
  verbose?: boolean;
  /**
   * Wall-clock budget in seconds (default {@link DEFAULT_BUDGET_S}; 0: none). A level whose cold starts
   * alone, projected from the CPU the previous level's sandboxes took to start, would overrun what is left
   * is skipped with a note (and a `…skipped` line) rather than run for many minutes.
   */
  budgetSeconds?: number;
}

/** The default wall-clock budget of a run. */
export const DEFAULT_BUDGET_S = 300;

export const TOKEN = "journey-bench-token-0123456789abcdef";
const CLIENT = new URL("./journey_client.ts", import.meta.url).pathname;
/** A cold turn may queue behind many sandboxes booting on two cores. */
const COLD_TURN_TIMEOUT_MS = 240_000;
const WARM_TURN_TIMEOUT_MS = 60_000;
/** After the cold replies, how long the agents get to settle before memory is read. */
const SETTLE_MS = 2_000;
const MiB = 1024 * 1024;

const warmTurnsFor = (sessions: number, override?: number) =>
  override ?? Math.max(3, Math.ceil(100 / sessions));

// ---------------------------------------------------------------------------------------------------------------
// Cleanup that also runs on SIGINT/SIGTERM.

export class Cleanup {
  #tasks = new Map<number, () => Promise<void> | void>();
  #next = 0;

  /** Registers `task`; returns a function that runs it now (once) and unregisters it. */
  add(task: () => Promise<void> | void): () => Promise<void> {
    const id = this.#next++;
    this.#tasks.set(id, task);
    return async () => {
      if (!this.#tasks.delete(id)) return;
      await task();
    };
  }

  /** Runs every task still registered, newest first; failures are reported, not thrown. */
  async runAll(): Promise<void> {
    for (const id of [...this.#tasks.keys()].reverse()) {
      const task = this.#tasks.get(id);
      this.#tasks.delete(id);
      try {
        await task?.();
      } catch (err) {
        note(`cleanup step failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}

function note(text: string): void {
  console.error(`journey: ${text}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Host-side events, recorded by wrapping the plane's objects (no product code changes).

type Times = Map<string, number[]>;

function push(map: Times, key: string, t: number): void {
  const list = map.get(key);
  if (list) list.push(t);
  else map.set(key, [t]);
}

/** What the host saw, per session, in `performance.now()` ms. */
export class Recorder {
  launchStart = new Map<string, number>();
  /** Wall clock of each launch (to line the agent's log up with it) and the sandbox's log. */
  launchWall = new Map<string, number>();
  logPaths = new Map<string, string>();
  launchCallMs: number[] = [];
  /** Agent queue-lease requests (the agent's every queue transaction, polls included). */
  leases: Times = new Map();
  /** Router entries that engaged the session (message in). */
  routes: Times = new Map();
  /** Inbound doorbell rings. */
  rings: Times = new Map();
  /** Outbound rings (delivery notified). */
  notifies: Times = new Map();
  /** Replies handed to the web chat. */
  delivers: Times = new Map();
  /** Duration of each `alive()` check (the sweep's liveness probe; wakes no longer ask). */
  aliveMs: number[] = [];
  chatSession = new Map<string, string>();
  handles = new Set<SandboxHandle>();

  /** Forgets the turn events (before the warm phase); launches and lease history stay. */
  resetTurns(): void {
    for (const m of [this.routes, this.rings, this.notifies, this.delivers]) m.clear();
    this.aliveMs = [];
  }
}

function instrumentIsolator(inner: Isolator, rec: Recorder): Isolator {
  return {
    kind: inner.kind,
    strength: inner.strength,
    check: () => inner.check(),
    launch: async (spec) => {
      const start = performance.now();
      rec.launchStart.set(spec.sessionId, start);
      rec.launchWall.set(spec.sessionId, Date.now());
      const handle = await inner.launch(spec);
      rec.logPaths.set(spec.sessionId, handle.logPath);
      rec.launchCallMs.push(performance.now() - start);
      rec.handles.add(handle);
      handle.exited.finally(() => rec.handles.delete(handle));
      return {
        sessionId: handle.sessionId,
        logPath: handle.logPath,
        exited: handle.exited,
        alive: async () => {
          const t = performance.now();
          try {
            return await handle.alive();
          } finally {
            rec.aliveMs.push(performance.now() - t);
          }
        },
        stop: () => handle.stop(),
      };
    },
  };
}

/** Hooks the plane's message path: lease requests, routing, rings, delivery. Instance-level wrappers only. */
export function instrumentPlane(plane: ControlPlane, rec: Recorder): void {
  const queues = plane.queues;
  const lease = queues.lease.bind(queues);
  const wrapped = new WeakSet<object>();
  queues.lease = (sessionId) => {
    const l = lease(sessionId);
    if (!wrapped.has(l)) {
      wrapped.add(l);
      const request = l.request.bind(l);
      l.request = (onRevoke) => {
        push(rec.leases, sessionId, performance.now());
        return request(onRevoke);
      };
    }
    return l;
  };
  const router = plane.router;
  const route = router.route.bind(router);
  router.route = async (input) => {
    const t = performance.now();
    const result = await route(input);
    for (const o of result.outcomes) {
      if (!o.sessionId || !o.engaged) continue;
      push(rec.routes, o.sessionId, t);
      rec.chatSession.set(input.platformId, o.sessionId);
    }
    return result;
  };
  const sandboxes = plane.sandboxes;
  const ring = sandboxes.ring.bind(sandboxes);
  sandboxes.ring = (sessionId) => {
    push(rec.rings, sessionId, performance.now());
    ring(sessionId);
  };
  const delivery = plane.delivery;
  const notify = delivery.notify.bind(delivery);
  delivery.notify = (sessionId) => {
    if (sessionId) push(rec.notifies, sessionId, performance.now());
    notify(sessionId);
  };
  const inbox = plane.webChat;
  const deliver = inbox.deliver.bind(inbox);
  inbox.deliver = (message) => {
    const sessionId = rec.chatSession.get(message.platformId);
    if (sessionId) push(rec.delivers, sessionId, performance.now());
    return deliver(message);
  };
}

/** The first time in `list` at or after `t`. */
const firstAfter = (list: number[] | undefined, t: number) => list?.find((x) => x >= t);

/** Host-side spans of the warm turns, in ms. */
export interface Breakdown {
  /** Message routed → doorbell rung (the waker's liveness check and ring). */
  wake: number[];
  /** Ring → the agent's first lease request (the agent woke and polls). */
  agentWake: number[];
  /** That request → the agent's outbound ring (its whole turn). */
  agentTurn: number[];
  /**
   * Within the turn: the engage lease (read inbound, send the model request, then commit the batch as
   * processing while the model works: the commit overlaps the call since 2026-12-08, it came before it) → the
   * lease that writes the reply. So: the model call, plus the inbound read and whatever of the engage commit
   * outlasts the call.
   */
  modelCall: number[];
  /** Outbound ring → reply handed to the web chat (a delivery pass). */
  delivery: number[];
}

/**
 * Per warm turn, host-side: route → ring → agent lease requests → outbound
 * ring → delivered. An engaged poll takes two leases (read inbound and mark
 * the batch processing; write the reply; before 2026-11-26 these were three,
 * the first split in two); the model call lies between the last two. Since
 * 2026-12-08 an idle agent's lease comes with the ring itself (`LEASE.bell`),
 * so the host no longer sees the agent wake: "agent wake" is then ~0, and the
 * agent's turn and the model-call span start at the ring (they include the wake).
 */
function breakdown(rec: Recorder): Breakdown {
  const out: Breakdown = { wake: [], agentWake: [], agentTurn: [], modelCall: [], delivery: [] };
  for (const [sessionId, routes] of rec.routes) {
    const leases = rec.leases.get(sessionId) ?? [];
    for (const routed of routes) {
      const rung = firstAfter(rec.rings.get(sessionId), routed);
      const leased = rung === undefined ? undefined : firstAfter(leases, rung);
      const notified = leased === undefined ? undefined : firstAfter(rec.notifies.get(sessionId), leased);
      const delivered = notified === undefined
        ? undefined
        : firstAfter(rec.delivers.get(sessionId), notified);
      if (delivered === undefined) continue;
      out.wake.push(rung! - routed);
      out.agentWake.push(leased! - rung!);
      out.agentTurn.push(notified! - leased!);
      out.delivery.push(delivered - notified!);
      const inTurn = leases.filter((t) => t >= leased! && t <= notified!);
      // The model call lies between the turn's last two leases (the engage and the reply write).
      if (inTurn.length >= 2) out.modelCall.push(inTurn[inTurn.length - 1] - inTurn[inTurn.length - 2]);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// One level: N sessions, cold then warm.

interface Turn {
  chat: number;
  turn: number;
  ms: number;
  ok: boolean;
  error?: string;
}

interface ClientRun {
  turns: Turn[];
  seconds: number;
}

export async function runClient(
  cleanup: Cleanup,
  url: string,
  prefix: string,
  chats: number,
  turns: number,
  timeoutMs: number,
): Promise<ClientRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-env=IRONCLAW_API_TOKEN",
      CLIENT,
      url,
      DEMO_AGENT_ID,
      prefix,
    ]
      .concat([String(chats), String(turns), String(timeoutMs)]),
    env: { IRONCLAW_API_TOKEN: TOKEN },
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const kill = cleanup.add(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // Exited already.
    }
  });
  const output = await child.output();
  await kill();
  if (!output.success) throw new Error(`the journey client failed (exit ${output.code})`);
  return JSON.parse(new TextDecoder().decode(output.stdout));
}

/** What a level measured. */
export interface LevelResult {
  sessions: number;
  coldStartMs: number[];
  /** Sessions launched whose agent never polled. */
  noFirstPoll: number;
  launchCallMs: number[];
  coldTurnMs: number[];
  warmTurnMs: number[];
  warmTurnsPerSecond: number;
  failedTurns: number;
  failures: string[];
  idleRssMiB: number[];
  idlePssMiB: number[];
  idleProcs: number[];
  /** Per sandbox with a cgroup (runsc): CPU and memory as the kernel accounts them, read at idle. */
  cgroups: CgroupStats[];
  hostRssPerSessionMiB: number;
  /** CPU per warm turn, in ms: the sandboxes' cgroups (runsc; NaN without) and the host process. */
  warmCpuPerTurnMs: { sandbox: number; host: number };
  breakdown: Breakdown;
  /** The host's 1-minute load average when the level started (other work competes for the cores). */
  loadAverage: number;
  aliveMs: number[];
  stopAllMs: number;
}

/** For the first sessions: the agent's lease requests and log lines, in ms after its launch. */
async function printTimelines(rec: Recorder, count = 2): Promise<void> {
  for (const [sessionId, start] of [...rec.launchStart].slice(0, count)) {
    const leases = (rec.leases.get(sessionId) ?? []).slice(0, 6).map((t) => Math.round(t - start));
    note(`${sessionId}: lease requests at +${leases.join(", +")} ms after launch()`);
    const wall = rec.launchWall.get(sessionId)!;
    const log = await Deno.readTextFile(rec.logPaths.get(sessionId) ?? "").catch(() => "");
    for (const line of log.split("\n").filter(Boolean).slice(0, 12)) {
      let at = "";
      try {
        at = `+${Date.parse(JSON.parse(line).time) - wall} ms `;
      } catch {
        // Not one of the agent's JSON lines (the runtime's own output).
      }
      note(`  ${at}${line.slice(0, 200)}`);
    }
  }
}

/** Removes what a run left: runsc containers under its root, processes naming its directory, the directories. */
export async function reap(kind: IsolatorKind, dir: string, keyRoot: string): Promise<void> {
  // The agent group's volumes (loop-mounted images) when the plane did not get to unmount them.
  const mounts = Deno.readTextFileSync("/proc/mounts").split("\n").map((line) => line.split(" ")[1] ?? "")
    .filter((point) => point.startsWith(`${dir}/`)).sort().reverse();
  for (const point of mounts) {
    await releaseVolume(point).catch((err) => note(`unmounting ${point}: ${err}`));
  }
  const runscRoot = `${dir}/isolator/runsc`;
  if (kind === "runsc" && await exists(runscRoot)) {
    const list = await new Deno.Command("runsc", {
      args: ["--root", runscRoot, "list", "-quiet"],
      stderr: "null",
    })
      .output().catch(() => undefined);
    const ids = list?.success ? new TextDecoder().decode(list.stdout).split("\n").filter(Boolean) : [];
    for (const id of ids) {
      await new Deno.Command("runsc", {
        args: ["--root", runscRoot, "delete", "--force", id],
        stderr: "null",
      })
        .output().catch(() => {});
    }
    if (ids.length) note(`removed ${ids.length} leftover runsc container(s)`);
  }
  const leftovers = pidsMentioning(dir);
  for (const pid of leftovers) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // Gone meanwhile.
    }
  }
  if (leftovers.length) note(`killed ${leftovers.length} leftover sandbox process(es)`);
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.remove(keyRoot, { recursive: true }).catch(() => {});
}

export function loadAverage1m(): number {
  try {
    return Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
  } catch {
    return NaN;
  }
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

async function runLevel(
  sessions: number,
  kind: IsolatorKind,
  program: string,
  cleanup: Cleanup,
  turns: number,
  verbose: boolean,
): Promise<LevelResult> {
  const dir = await Deno.makeTempDir({ prefix: "ironclaw-journey-" });
  const keyRoot = await keyRootFor(kind, dir);
  // This level's cleanup steps, newest first in `finally` (and on a signal, through `cleanup`).
  const steps: (() => Promise<void>)[] = [];
  const step = (task: () => Promise<void> | void) => {
    const run = cleanup.add(task);
    steps.unshift(run);
    return run;
  };
  step(() => reap(kind, dir, keyRoot));
  const rec = new Recorder();
  const failures: string[] = [];
  const loadAverage = loadAverage1m();
  try {
    const plane = await ControlPlane.open({
      stateDir: `${dir}/state`,
      dev: true,
      library: resolveLibraryPath(),
      isolator: instrumentIsolator(isolators({ stateDir: `${dir}/isolator`, keyRoot })[kind], rec),
      agentProgram: program,
    });
    const closePlane = step(async () => {
      // Whatever plane.close() does not reach (a launch in flight) is stopped here.
      await plane.close().catch((err) => note(`closing the control plane: ${err}`));
      await Promise.all([...rec.handles].map((h) => h.stop().catch(() => {})));
    });
    const server = startApiServer(plane, {
      token: TOKEN,
      hostname: "127.0.0.1",
      port: 0,
      rateLimit: { ratePerSecond: 1e9, burst: 1e9 },
    });
    const stopServer = step(async () => {
      plane.webChat.close(); // ends waiting drains, so the shutdown does not wait for them
      await server.shutdown();
      await server.finished;
    });
    instrumentPlane(plane, rec);
    const hostRssBefore = Deno.memoryUsage().rss;
    const prefix = `journey-${sessions}`;

    // Cold: every chat's first message at once; each launches its session's sandbox.
    const cold = await runClient(cleanup, server.url, prefix, sessions, 1, COLD_TURN_TIMEOUT_MS);
    const coldStartMs: number[] = [];
    let noFirstPoll = 0;
    for (const [sessionId, start] of rec.launchStart) {
      const firstPoll = rec.leases.get(sessionId)?.[1];
      if (firstPoll === undefined) noFirstPoll++;
      else coldStartMs.push(firstPoll - start);
    }

    if (verbose) await printTimelines(rec);

    // Idle: the agents answered and now wait on their doorbells.
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const idleRssMiB: number[] = [];
    const idlePssMiB: number[] = [];
    const idleProcs: number[] = [];
    const cgroups: CgroupStats[] = [];
    for (const sessionId of rec.launchStart.keys()) {
      const stats = cgroupStats(`/ironclaw/${sessionId}`);
      if (stats) cgroups.push(stats);
      const procs = processTree(sessionId);
      if (procs.length === 0) continue; // no sandbox left to measure (a failed launch is counted below)
      const memory = memoryOf(procs.map((p) => p.pid));
      idleRssMiB.push(memory.rssKiB / 1024);
      idlePssMiB.push(memory.pssKiB / 1024);
      idleProcs.push(procs.length);
    }
    const hostRssPerSessionMiB = (Deno.memoryUsage().rss - hostRssBefore) / MiB / sessions;

    // Warm: every chat carries on, turn after turn, all chats at once.
    rec.resetTurns();
    const launchesBefore = rec.launchStart.size;
    const sandboxCpu = () =>
      [...rec.launchStart.keys()].reduce(
        (a, id) => a + (cgroupStats(`/ironclaw/${id}`)?.cpuSeconds ?? NaN),
        0,
      );
    const sandboxCpuBefore = sandboxCpu();
    const hostCpuBefore = hostCpuSeconds();
    const warm = await runClient(cleanup, server.url, prefix, sessions, turns, WARM_TURN_TIMEOUT_MS);
    const warmOk = warm.turns.filter((t) => t.ok).length;
    const warmCpuPerTurnMs = {
      sandbox: ((sandboxCpu() - sandboxCpuBefore) * 1000) / warmOk,
      host: ((hostCpuSeconds() - hostCpuBefore) * 1000) / warmOk,
    };
    if (rec.launchStart.size !== launchesBefore) {
      note(`${rec.launchStart.size - launchesBefore} sandbox(es) relaunched during the warm turns`);
    }
    const aliveMs = [...rec.aliveMs];
    const parts = breakdown(rec);

    for (const t of [...cold.turns, ...warm.turns]) {
      if (!t.ok) failures.push(`chat ${t.chat} turn ${t.turn}: ${t.error}`);
    }
    const stopStart = performance.now();
    await stopServer();
    await closePlane();
    const stopAllMs = performance.now() - stopStart;
    return {
      sessions,
      coldStartMs,
      noFirstPoll,
      launchCallMs: rec.launchCallMs,
      coldTurnMs: cold.turns.filter((t) => t.ok).map((t) => t.ms),
      warmTurnMs: warm.turns.filter((t) => t.ok).map((t) => t.ms),
      warmTurnsPerSecond: warm.turns.filter((t) => t.ok).length / warm.seconds,
      failedTurns: failures.length,
      failures,
      idleRssMiB,
      idlePssMiB,
      idleProcs,
      cgroups,
      hostRssPerSessionMiB,
      warmCpuPerTurnMs,
      breakdown: parts,
      aliveMs,
      stopAllMs,
      loadAverage,
    };
  } finally {
    for (const run of steps) await run();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The whole benchmark.

/** This process's CPU time so far (user + system), in seconds. */
export function hostCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

const mean = (values: readonly number[]) =>
  values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN;
const max = (values: readonly number[]) => values.length ? Math.max(...values) : NaN;

/**
 * How long `n` simultaneous cold starts would take at least: `n` × the mean
 * CPU a sandbox of the last level used to get to idle (its cgroup), spread
 * over the cores. Undefined before any level, or without cgroup accounting.
 */
function projectColdPhaseSeconds(levels: readonly LevelResult[], n: number): number | undefined {
  const last = levels.at(-1);
  if (!last?.cgroups.length) return undefined;
  return (n * mean(last.cgroups.map((c) => c.cpuSeconds))) / navigator.hardwareConcurrency;
}

/** Picks the backend: the one asked for if it works here, else the next weaker one, with a note. */
export async function chooseKind(wanted: IsolatorKind): Promise<IsolatorKind> {
  const order: IsolatorKind[] = ["runsc", "bwrap", "process"];
  const dir = await Deno.makeTempDir({ prefix: "ironclaw-journey-check-" });
  const keyRoot = await keyRootFor(wanted, dir);
  try {
    for (const kind of order.slice(order.indexOf(wanted))) {
      const check = await isolators({ stateDir: dir, keyRoot })[kind].check();
      if (check.ok) {
        if (kind !== wanted) note(`NOTE: ${wanted} does not work here; measuring ${kind} instead`);
        return kind;
      }
      note(`${kind} does not work here: ${check.detail.split("\n")[0]}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await Deno.remove(keyRoot, { recursive: true }).catch(() => {});
  }
  throw new Error("no backend works here");
}

function levelResults(kind: IsolatorKind, r: LevelResult): BenchResult[] {
  const p = `journey.${kind}.sessions_${r.sessions}`;
  const ms = (name: string, values: number[], ps: number[]) =>
    ps.map((q) => ({ name: `${p}.${name}.p${q}`, value: percentile(values, q), unit: "ms" }));
  return [
    ...ms("cold_start", r.coldStartMs, [50, 95]),
    { name: `${p}.cold_start.no_first_poll`, value: r.noFirstPoll, unit: "count" },
    ...ms("launch_call", r.launchCallMs, [50]),
    ...ms("cold_turn", r.coldTurnMs, [50, 95]),
    ...ms("warm_turn", r.warmTurnMs, [50, 99]),
    { name: `${p}.warm_turn.samples`, value: r.warmTurnMs.length, unit: "count" },
    { name: `${p}.warm_turn.throughput`, value: r.warmTurnsPerSecond, unit: "turns/s" },
    ...ms("warm_turn.host_wake", r.breakdown.wake, [50]),
    ...ms("warm_turn.agent_wake", r.breakdown.agentWake, [50]),
    ...ms("warm_turn.agent_turn", r.breakdown.agentTurn, [50]),
    ...ms("warm_turn.model_call", r.breakdown.modelCall, [50]),
    ...ms("warm_turn.delivery", r.breakdown.delivery, [50]),
    ...ms("alive_check", r.aliveMs, [50, 95]),
    { name: `${p}.idle_rss_per_sandbox.mean`, value: mean(r.idleRssMiB), unit: "MiB" },
    { name: `${p}.idle_rss_per_sandbox.max`, value: max(r.idleRssMiB), unit: "MiB" },
    { name: `${p}.idle_pss_per_sandbox.mean`, value: mean(r.idlePssMiB), unit: "MiB" },
    { name: `${p}.idle_processes_per_sandbox`, value: mean(r.idleProcs), unit: "count" },
    ...(r.cgroups.length
      ? [
        {
          name: `${p}.cgroup.cpu_to_idle_per_sandbox.mean`,
          value: mean(r.cgroups.map((c) => c.cpuSeconds)),
          unit: "s",
        },
        {
          name: `${p}.cgroup.cpu_throttled_per_sandbox.mean`,
          value: mean(r.cgroups.map((c) => c.throttledSeconds)),
          unit: "s",
        },
        { name: `${p}.cgroup.memory_idle.mean`, value: mean(r.cgroups.map((c) => c.memoryMiB)), unit: "MiB" },
        {
          name: `${p}.cgroup.memory_peak.max`,
          value: max(r.cgroups.map((c) => c.memoryMaxMiB)),
          unit: "MiB",
        },
        {
          name: `${p}.cgroup.memory_limit_hits`,
          value: r.cgroups.reduce((a, c) => a + c.memoryLimitHits, 0),
          unit: "count",
        },
      ]
      : []),
    { name: `${p}.host_rss_per_session`, value: r.hostRssPerSessionMiB, unit: "MiB" },
    { name: `${p}.warm_turn.cpu_sandbox`, value: r.warmCpuPerTurnMs.sandbox, unit: "ms" },
    { name: `${p}.warm_turn.cpu_host`, value: r.warmCpuPerTurnMs.host, unit: "ms" },
    { name: `${p}.failed_turns`, value: r.failedTurns, unit: "count" },
    { name: `${p}.stop_all`, value: r.stopAllMs, unit: "ms" },
    { name: `${p}.host_load_average`, value: r.loadAverage, unit: "load" },
  ];
}

function growth(kind: IsolatorKind, levels: LevelResult[]): BenchResult[] {
  if (levels.length < 2) return [];
  const base = levels[0];
  const ratios: [string, (r: LevelResult) => number][] = [
    ["cold_start_p50", (r) => percentile(r.coldStartMs, 50)],
    ["warm_turn_p50", (r) => percentile(r.warmTurnMs, 50)],
    ["warm_turn_p99", (r) => percentile(r.warmTurnMs, 99)],
    ["idle_rss_per_sandbox", (r) => mean(r.idleRssMiB)],
  ];
  return levels.slice(1).flatMap((r) =>
    ratios.map(([name, of]) => ({
      name: `journey.${kind}.growth.${name}.sessions_${r.sessions}_vs_${base.sessions}`,
      value: of(r) / of(base),
      unit: "x",
    }))
  );
}

function targetResults(): BenchResult[] {
  return [
    { name: "journey.target.cold_start.p50", value: TARGETS.coldStartP50Ms, unit: "ms" },
    { name: "journey.target.warm_turn.p50", value: TARGETS.warmTurnP50Ms, unit: "ms" },
    { name: "journey.target.idle_rss_per_sandbox", value: TARGETS.idleSandboxMiB, unit: "MiB" },
    {
      name: `journey.target.failed_turns.sessions_${TARGET_SESSIONS}`,
      value: TARGETS.failedTurns,
      unit: "count",
    },
  ];
}

/** The human summary: one column per level, the target last. */
export function summaryTable(kind: IsolatorKind, levels: LevelResult[]): string {
  const fmt = (v: number, digits = 0) => Number.isFinite(v) ? v.toFixed(digits) : "n/a";
  const mark = (ok: boolean) => ok ? " ok" : " !!";
  const rows: [string, (r: LevelResult) => string, string][] = [
    ["cold start p50 (launch→1st poll)", (r) => {
      const v = percentile(r.coldStartMs, 50);
      return `${fmt(v)} ms${mark(v < TARGETS.coldStartP50Ms)}`;
    }, `< ${TARGETS.coldStartP50Ms} ms`],
    ["cold start p95", (r) => `${fmt(percentile(r.coldStartMs, 95))} ms`, ""],
    ["cold turn p50 (1st msg→reply)", (r) => `${fmt(percentile(r.coldTurnMs, 50))} ms`, ""],
    ["warm turn p50 (msg→reply)", (r) => {
      const v = percentile(r.warmTurnMs, 50);
      return `${fmt(v, 1)} ms${mark(v < TARGETS.warmTurnP50Ms)}`;
    }, `< ${TARGETS.warmTurnP50Ms} ms`],
    ["warm turn p99", (r) => `${fmt(percentile(r.warmTurnMs, 99), 1)} ms`, ""],
    ["  host wake p50 (route→ring)", (r) => `${fmt(percentile(r.breakdown.wake, 50), 1)} ms`, ""],
    ["  agent wake p50 (ring→poll)", (r) => `${fmt(percentile(r.breakdown.agentWake, 50), 1)} ms`, ""],
    ["  agent turn p50 (poll→reply)", (r) => `${fmt(percentile(r.breakdown.agentTurn, 50), 1)} ms`, ""],
    ["    of which model call p50", (r) => `${fmt(percentile(r.breakdown.modelCall, 50), 1)} ms`, ""],
    ["  delivery p50 (reply→chat)", (r) => `${fmt(percentile(r.breakdown.delivery, 50), 1)} ms`, ""],
    ["  alive() check p50", (r) => `${fmt(percentile(r.aliveMs, 50), 1)} ms`, ""],
    ["idle RSS / sandbox (mean)", (r) => {
      const v = mean(r.idleRssMiB);
      return `${fmt(v, 1)} MiB${mark(v < TARGETS.idleSandboxMiB)}`;
    }, `< ${TARGETS.idleSandboxMiB} MiB`],
    ["idle PSS / sandbox (mean)", (r) => `${fmt(mean(r.idlePssMiB), 1)} MiB`, ""],
    ["cgroup CPU / sandbox to idle", (r) => `${fmt(mean(r.cgroups.map((c) => c.cpuSeconds)), 2)} s`, ""],
    [
      "cgroup CPU throttled / sandbox",
      (r) => `${fmt(mean(r.cgroups.map((c) => c.throttledSeconds)), 2)} s`,
      "",
    ],
    ["cgroup memory peak (max)", (r) => `${fmt(max(r.cgroups.map((c) => c.memoryMaxMiB)), 1)} MiB`, ""],
    ["host RSS / session", (r) => `${fmt(r.hostRssPerSessionMiB, 1)} MiB`, ""],
    ["CPU / warm turn: sandbox (cgroup)", (r) => `${fmt(r.warmCpuPerTurnMs.sandbox, 1)} ms`, ""],
    ["CPU / warm turn: host process", (r) => `${fmt(r.warmCpuPerTurnMs.host, 1)} ms`, ""],
    ["failed turns", (r) => {
      const ok = r.sessions !== TARGET_SESSIONS || r.failedTurns <= TARGETS.failedTurns;
      return `${r.failedTurns}${r.sessions === TARGET_SESSIONS ? mark(ok) : ""}`;
    }, `${TARGETS.failedTurns} at ${TARGET_SESSIONS}`],
    ["warm turns measured", (r) => `${r.warmTurnMs.length}`, ""],
    ["stop all sandboxes", (r) => `${fmt(r.stopAllMs)} ms`, ""],
    ["host load average at start", (r) => fmt(r.loadAverage, 2), ""],
  ];
  const header = ["", ...levels.map((r) => `${r.sessions} session${r.sessions === 1 ? "" : "s"}`), "target"];
  const table = [header, ...rows.map(([label, cell, target]) => [label, ...levels.map(cell), target])];
  const widths = header.map((_, i) => Math.max(...table.map((row) => row[i].length)));
  const line = (row: string[]) =>
    row.map((c, i) => i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join("  ");
  return [
    `journey benchmark: ${kind}${
      kind === "runsc" ? " (ptrace)" : ""
    }, ${navigator.hardwareConcurrency} cores, ` +
    `agent poll ${DEFAULT_POLL_MS} ms, mock model ("!!" misses the target)`,
    line(table[0]),
    ...table.slice(1).map(line),
  ].join("\n");
}

/** Runs the journey benchmark; about 2–4 minutes with runsc for 1, 10 and 50 sessions on two cores. */
export async function journeyBenchmarks(options: JourneyOptions = {}): Promise<BenchResult[]> {
  const sessions = options.sessions ?? [1, 10, 50];
  const cleanup = new Cleanup();
  let interrupted: Promise<void> | undefined;
  const onSignal = () => {
    if (interrupted) return;
    note("interrupted: stopping sandboxes and removing temp dirs…");
    interrupted = cleanup.runAll().finally(() => Deno.exit(130));
  };
  const signals = ["SIGINT", "SIGTERM"] as const;
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  try {
    const kind = await chooseKind(options.isolator ?? "runsc");
    // The agent bundle: built once per control-plane process on its first launch; done ahead here.
    const buildDir = await Deno.makeTempDir({ prefix: "ironclaw-journey-program-" });
    const removeBuild = cleanup.add(() => Deno.remove(buildDir, { recursive: true }).catch(() => {}));
    const bundleStart = performance.now();
    const program = await bundleAgent(buildDir, AGENT_SOURCE);
    const results: BenchResult[] = [{
      name: "journey.agent_bundle",
      value: performance.now() - bundleStart,
      unit: "ms",
    }];
    const levels: LevelResult[] = [];
    const budget = options.budgetSeconds ?? DEFAULT_BUDGET_S;
    const started = performance.now();
    for (const n of sessions) {
      const projected = projectColdPhaseSeconds(levels, n);
      const left = budget - (performance.now() - started) / 1000;
      if (budget > 0 && projected !== undefined && projected > left) {
        note(
          `SKIPPED ${n} sessions: their cold starts alone would take about ${Math.round(projected)} s ` +
            `(${n} × the CPU one sandbox took to start ÷ ${navigator.hardwareConcurrency} cores), ` +
            `${
              Math.max(0, Math.round(left))
            } s of the ${budget} s budget are left; --budget-s 0 runs it anyway`,
        );
        results.push(
          { name: `journey.${kind}.sessions_${n}.skipped`, value: 1, unit: "count" },
          { name: `journey.${kind}.sessions_${n}.projected_cold_phase`, value: projected, unit: "s" },
        );
        continue;
      }
      note(`${kind}: ${n} session(s)…`);
      const level = await runLevel(
        n,
        kind,
        program,
        cleanup,
        warmTurnsFor(n, options.turns),
        options.verbose ?? false,
      );
      for (const f of level.failures.slice(0, 5)) note(`failed turn (${n} sessions): ${f}`);
      levels.push(level);
      results.push(...levelResults(kind, level));
    }
    await removeBuild();
    results.push(...growth(kind, levels), ...targetResults());
    console.error(summaryTable(kind, levels));
    return results;
  } catch (err) {
    // Interrupted: the cleanup under way ends the process; the failure it caused here is no news.
    if (interrupted) await interrupted;
    throw err;
  } finally {
    if (!interrupted) {
      for (const s of signals) Deno.removeSignalListener(s, onSignal);
      await cleanup.runAll();
    }
  }
}

function parseCli(args: string[]): JourneyOptions {
  const options: JourneyOptions = {};
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split("=", 2);
    const value = () => inline ?? args[++i];
    if (flag === "--sessions") {
      const list = value()?.split(",").map(Number) ?? [];
      if (!list.length || list.some((n) => !Number.isInteger(n) || n < 1)) {
        throw new Error("--sessions: e.g. 1,10,50");
      }
      options.sessions = list;
    } else if (flag === "--isolator") {
      const kind = value();
      if (kind !== "runsc" && kind !== "bwrap" && kind !== "process") {
        throw new Error("--isolator: runsc|bwrap|process");
      }
      options.isolator = kind;
    } else if (flag === "--turns") {
      const turns = Number(value());
      if (!Number.isInteger(turns) || turns < 1) throw new Error("--turns: a positive integer");
      options.turns = turns;
    } else if (flag === "--budget-s") {
      const seconds = Number(value());
      if (!(seconds >= 0)) throw new Error("--budget-s: seconds, 0 for none");
      options.budgetSeconds = seconds;
    } else if (flag === "--verbose") {
      options.verbose = true;
    } else {
      throw new Error(`unknown argument ${args[i]}`);
    }
  }
  return options;
}

if (import.meta.main) {
  let options: JourneyOptions;
  try {
    options = parseCli(Deno.args);
  } catch (err) {
    console.error(
      `journey_bench: ${(err as Error).message}\nusage: journey_bench.ts [--sessions 1,10,50] ` +
        "[--isolator runsc|bwrap|process] [--turns N] [--budget-s S] [--verbose]",
    );
    Deno.exit(2);
  }
  for (const result of await journeyBenchmarks(options)) printResult(result);
}
