/**
 * The warm-spare and hibernation benchmark (issue #21): a real dev control
 * plane (the `demo` agent on the mock model), its API on loopback and the
 * journey benchmark's chat client in its own process. In one run:
 *
 * - **spare hit vs miss**: the first reply of a new conversation
 *   (`POST /v1/ui/chat/send` → the reply drained), one conversation at a
 *   time, with a warm spare booted and waiting (`serve --warm-spares 1`), and
 *   on a plane with none (`--warm-spares 0`), the same number of each;
 *   with each first reply's steps (`HIT_STEPS`: route, claim, the agent's
 *   queue open, first poll, answer, reply, delivery, the client's HTTP), from
 *   the plane's events and the agent's log, p50 per step.
 * - **a spare's memory**: RSS and PSS of a waiting spare's processes.
 * - **hibernation at scale**: N conversations (default 200), each one
 *   message, then idle until hibernated (`--idle-stop` at its shortest), then
 *   one more message; peak memory (host process plus every sandbox process,
 *   sampled), failed turns (a refused send, a reply lost or not the
 *   expected one), replies left over at the end (a duplicate), the
 *   sandboxes left after the idle phase, how long hibernating them took, and
 *   the host memory each hibernated conversation holds.
 *
 * Nothing here asserts a timing: JSON lines on stdout (`{name, value,
 * unit}`), notes on stderr. The machine may be shared: compare ratios
 * within one run, and read the load average printed with it.
 *
 * Run: `scripts/deno run -A tests/bench/spares_bench.ts [--isolator runsc|bwrap]
 * [--samples N] [--conversations N]`; `--conversations 0` runs only the hit and miss part,
 * `--samples 0` only the hibernation; `--idle-stop MS` (default 1) its idle limit.
 *
 * @module
 */
import type { SessionId } from "../../contract/ids.ts";
import { resolveLibraryPath } from "../../contract/sqlite/mod.ts";
import { type IsolatorKind, isolators } from "../../isolator/mod.ts";
import { startApiServer } from "../../src/api/mod.ts";
import { ControlPlane, DEMO_AGENT_ID } from "../../src/control_plane/mod.ts";
import { AGENT_SOURCE, bundleAgent } from "../../src/sandbox/mod.ts";
import { keyRootFor } from "../support/isolator_harness.ts";
import {
  chooseKind,
  Cleanup,
  hostCpuSeconds,
  instrumentPlane,
  loadAverage1m,
  reap,
  Recorder,
  runClient,
  TOKEN,
} from "./journey_bench.ts";
import { cgroupStats, memoryOf, pidsMentioning, processTree } from "./journey_procs.ts";
import { type BenchResult, percentile, printResult } from "./report.ts";

/** What to run. */
export interface SparesBenchOptions {
  /** The backend (default runsc; spares need one that binds directories: runsc or bwrap). */
  isolator?: IsolatorKind;
  /** First replies measured with a spare, and as many without (default 5; 0 skips them). */
  samples?: number;
  /** Conversations of the hibernation run (default 200). */
  conversations?: number;
  /**
   * The hibernation run's `--idle-stop` in ms (default 1: each sandbox is
   * stopped as soon as it is idle). Longer leaves the batch's sandboxes up
   * together, so the idle phase times the sweep stopping them all.
   */
  idleStopMs?: number;
}

const MiB = 1024 * 1024;
const FIRST_REPLY_TIMEOUT_MS = 60_000;
/** Hundreds of conversations starting at once on two cores queue for minutes. */
const SCALE_TURN_TIMEOUT_MS = 900_000;
const PEAK_SAMPLE_MS = 2_000;
/**
 * Conversations sent at once in the hibernation run: a send is answered once
 * queued, but each batch starts a sandbox per conversation (~130 MiB each):
 * hundreds at once would measure the machine's memory, not hibernation.
 */
const SCALE_BATCH = 20;
/** How long the idle phase may take before the run gives up. */
const IDLE_TIMEOUT_MS = 1_800_000;

function note(text: string): void {
  console.error(`spares: ${text}`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A plane with its API, torn down by `cleanup` (also on a signal). */
async function openPlane(
  cleanup: Cleanup,
  at: { kind: IsolatorKind; program: string; warmSpares: number; idleStopMs: number; rec?: HitRecorder },
) {
  const dir = await Deno.makeTempDir({ prefix: "ironclaw-spares-" });
  const keyRoot = await keyRootFor(at.kind, dir);
  const reaped = cleanup.add(() => reap(at.kind, dir, keyRoot));
  const plane = await ControlPlane.open({
    stateDir: `${dir}/state`,
    dev: true,
    library: resolveLibraryPath(),
    isolator: isolators({ stateDir: `${dir}/isolator`, keyRoot })[at.kind],
    agentProgram: at.program,
    warmSpares: at.warmSpares,
    idleStopMs: at.idleStopMs,
  });
  const server = startApiServer(plane, {
    token: TOKEN,
    hostname: "127.0.0.1",
    port: 0,
    rateLimit: { ratePerSecond: 1e9, burst: 1e9 },
  });
  if (at.rec) at.rec.instrument(plane);
  const closed = cleanup.add(async () => {
    plane.webChat.close();
    await server.shutdown();
    await server.finished;
    await plane.close().catch((err) => note(`closing the control plane: ${err}`));
  });
  return {
    dir,
    plane,
    url: server.url,
    async close() {
      await closed();
      await reaped();
    },
  };
}

type Plane = Awaited<ReturnType<typeof openPlane>>;

/** The spares of the run that wait on their claim socket now (their log says so, and no session has them). */
function waitingSpares(p: Plane): string[] {
  const logs = `${p.dir}/isolator/logs`;
  const claimed = new Set(p.plane.sandboxes.sessions().map((s) => p.plane.sandboxes.logPath(s)));
  return [...Deno.readDirSync(logs)]
    .filter((e) => e.name.startsWith("spare-") && !claimed.has(`${logs}/${e.name}`))
    .filter((e) => {
      const log = Deno.readTextFileSync(`${logs}/${e.name}`);
      return log.includes("agent.spare_waiting") && !log.includes("agent.started");
    })
    .map((e) => e.name.replace(/\.log$/, ""));
}

async function until<T>(what: string, fn: () => T | undefined, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = fn();
    if (value !== undefined) return value;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** One new conversation's first reply, in ms (undefined when it failed). */
async function firstReply(cleanup: Cleanup, p: Plane, chat: string): Promise<number | undefined> {
  const run = await runClient(cleanup, p.url, chat, 1, 1, FIRST_REPLY_TIMEOUT_MS);
  const [turn] = run.turns;
  if (!turn.ok) note(`${chat}: ${turn.error}`);
  return turn.ok ? turn.ms : undefined;
}

/** The spans of chat `chat`'s first reply (its client's chat id is `<chat>-0`), or undefined with a note. */
async function timelineOf(
  p: Plane,
  rec: HitRecorder,
  at: { chat: string; totalMs: number },
): Promise<Record<HitStep, number> | undefined> {
  const { chat, totalMs } = at;
  const sessionId = rec.chatSession.get(`${chat}-0`);
  const logPath = sessionId && p.plane.sandboxes.logPath(sessionId as SessionId);
  const log = logPath ? await Deno.readTextFile(logPath).catch(() => "") : "";
  const steps = sessionId ? hitTimeline(rec, { sessionId, log, totalMs }) : undefined;
  if (!steps) note(`${chat}: its first reply's steps are incomplete`);
  return steps;
}

/** Host process plus every sandbox process of the plane, RSS in MiB. */
function totalRssMiB(p: Plane): number {
  return (Deno.memoryUsage().rss + memoryOf(pidsMentioning(p.dir)).rssKiB * 1024) / MiB;
}

/** The host's events of the run ({@link Recorder}) plus each session's launch call, start and end. */
class HitRecorder extends Recorder {
  launchCalls = new Map<string, { start: number; end: number }>();

  instrument(plane: ControlPlane): void {
    instrumentPlane(plane, this);
    const sandboxes = plane.sandboxes;
    const launch = sandboxes.launch.bind(sandboxes);
    sandboxes.launch = async (sessionId) => {
      const start = performance.now();
      try {
        await launch(sessionId);
      } finally {
        this.launchCalls.set(sessionId, { start, end: performance.now() });
      }
    };
  }
}

/**
 * The steps of a spare hit's first reply, in order: each span ends where
 * the next begins, so they add up to route → delivered. Host events are the
 * plane's (`performance.now()`); the agent's are the times on its log lines
 * (wall clock, ms), put on the same clock.
 */
const HIT_STEPS = [
  ["route", "message routed → launch called (session, queue files, inbound write)"],
  ["claim", "launch call (claim: checks, files moved, sockets opened, key handed)"],
  ["agent_claimed", "launch returned → agent's first lease request (key read, leased open)"],
  ["open_queues", "that lease → the first poll's lease (queues opened, loop built)"],
  ["first_poll", "the first poll's lease → its engage logged (state restored, inbound read)"],
  ["answer", "engage → the reply's lease (MCP listing, model call)"],
  ["reply_written", "the reply's lease → outbound ring (reply transaction, ring)"],
  ["delivery", "outbound ring → the reply handed to the web chat"],
  ["client", "the rest of the client's time: send → routed, handed → drained (HTTP)"],
] as const;

type HitStep = (typeof HIT_STEPS)[number][0];

/** One hit's spans (ms), or undefined when an event is missing. */
function hitTimeline(
  rec: HitRecorder,
  at: { sessionId: string; log: string; totalMs: number },
): Record<HitStep, number> | undefined {
  const { sessionId, log } = at;
  const routed = rec.routes.get(sessionId)?.[0];
  const launch = rec.launchCalls.get(sessionId);
  const leases = rec.leases.get(sessionId) ?? [];
  const notified = rec.notifies.get(sessionId)?.[0];
  const delivered = rec.delivers.get(sessionId)?.[0];
  const engaged = agentEvent(log, "engage");
  if (
    routed === undefined || !launch || leases.length < 3 || notified === undefined ||
    delivered === undefined || engaged === undefined
  ) return undefined;
  const reply = leases.find((t) => t > engaged) ?? NaN;
  return {
    route: launch.start - routed,
    claim: launch.end - launch.start,
    agent_claimed: leases[0] - launch.end,
    open_queues: leases[1] - leases[0],
    first_poll: engaged - leases[1],
    answer: reply - engaged,
    reply_written: notified - reply,
    delivery: delivered - notified,
    client: at.totalMs - (delivered - routed),
  };
}

/** When the agent logged `event` first, on this process's `performance.now()` clock. */
function agentEvent(log: string, event: string): number | undefined {
  for (const line of log.split("\n")) {
    if (!line.includes(`"event":"${event}"`)) continue;
    try {
      return Date.parse(JSON.parse(line).time) - performance.timeOrigin;
    } catch {
      // not one of the agent's JSON lines
    }
  }
  return undefined;
}

async function spareHitAndMiss(
  cleanup: Cleanup,
  at: { kind: IsolatorKind; program: string; samples: number },
): Promise<BenchResult[]> {
  const prefix = `journey.${at.kind}`;
  const results: BenchResult[] = [];
  const hits: number[] = [];
  const hitSteps: Record<HitStep, number>[] = [];
  const cpu = { sandbox: [] as number[], host: [] as number[] };
  let claimed = 0;
  const hitRec = new HitRecorder();
  const withSpares = await openPlane(cleanup, { ...at, warmSpares: 1, idleStopMs: 0, rec: hitRec });
  try {
    // The group's first conversation is its traffic: cold, and the first spare boots after it.
    await firstReply(cleanup, withSpares, "warm-up");
    for (let i = 0; i < at.samples; i++) {
      await until("a waiting spare", () => waitingSpares(withSpares).length > 0 || undefined);
      if (i === 0) {
        const [spare] = waitingSpares(withSpares);
        const memory = memoryOf(processTree(spare).map((proc) => proc.pid));
        results.push(
          { name: `${prefix}.spare.rss`, value: memory.rssKiB / 1024, unit: "MiB" },
          { name: `${prefix}.spare.pss`, value: memory.pssKiB / 1024, unit: "MiB" },
        );
      }
      // CPU is what load does not change: the spare's cgroup (gVisor and the agent) and this process (the plane).
      const [spare] = waitingSpares(withSpares);
      const spareCpu = () => cgroupStats(`/ironclaw/${spare}`)?.cpuSeconds ?? NaN;
      const cpuBefore = { sandbox: spareCpu(), host: hostCpuSeconds() };
      const ms = await firstReply(cleanup, withSpares, `hit-${i}`);
      if (ms !== undefined) hits.push(ms);
      cpu.sandbox.push((spareCpu() - cpuBefore.sandbox) * 1000);
      cpu.host.push((hostCpuSeconds() - cpuBefore.host) * 1000);
      const session = withSpares.plane.sandboxes.sessions().find((s) =>
        withSpares.plane.sandboxes.logPath(s)?.includes("/spare-") &&
        withSpares.plane.registry.listSessions(DEMO_AGENT_ID).some((r) => r.id === s)
      );
      if (session) claimed++;
      const steps = ms === undefined
        ? undefined
        : await timelineOf(withSpares, hitRec, { chat: `hit-${i}`, totalMs: ms });
      if (steps) hitSteps.push(steps);
    }
  } finally {
    await withSpares.close();
  }
  const misses: number[] = [];
  const missSteps: Record<HitStep, number>[] = [];
  const missRec = new HitRecorder();
  const without = await openPlane(cleanup, { ...at, warmSpares: 0, idleStopMs: 0, rec: missRec });
  try {
    await firstReply(cleanup, without, "warm-up");
    for (let i = 0; i < at.samples; i++) {
      const ms = await firstReply(cleanup, without, `miss-${i}`);
      if (ms !== undefined) misses.push(ms);
      const steps = ms === undefined
        ? undefined
        : await timelineOf(without, missRec, { chat: `miss-${i}`, totalMs: ms });
      if (steps) missSteps.push(steps);
    }
  } finally {
    await without.close();
  }
  const hitP50 = percentile(hits, 50);
  const missP50 = percentile(misses, 50);
  results.push(
    { name: `${prefix}.spare_hit.first_reply_p50`, value: hitP50, unit: "ms" },
    { name: `${prefix}.spare_hit.first_reply_max`, value: Math.max(...hits), unit: "ms" },
    { name: `${prefix}.spare_hit.claimed`, value: claimed, unit: "count" },
    { name: `${prefix}.spare_hit.cpu_sandbox_p50`, value: percentile(cpu.sandbox, 50), unit: "ms" },
    { name: `${prefix}.spare_hit.cpu_host_p50`, value: percentile(cpu.host, 50), unit: "ms" },
    { name: `${prefix}.spare_miss.first_reply_p50`, value: missP50, unit: "ms" },
    { name: `${prefix}.spare_miss.first_reply_max`, value: Math.max(...misses), unit: "ms" },
    { name: `${prefix}.spare_hit.speedup`, value: missP50 / hitP50, unit: "x" },
    ...HIT_STEPS.map(([step]) => ({
      name: `${prefix}.spare_hit.step.${step}_p50`,
      value: percentile(hitSteps.map((s) => s[step]), 50),
      unit: "ms",
    })),
  );
  note(`first reply, step by step (p50 ms of ${hitSteps.length} hits | ${missSteps.length} misses):`);
  for (const [step, what] of HIT_STEPS) {
    const p50 = (list: Record<HitStep, number>[]) => percentile(list.map((s) => s[step]), 50).toFixed(1);
    note(`  ${step.padEnd(14)} ${p50(hitSteps).padStart(7)} | ${p50(missSteps).padStart(7)}  ${what}`);
  }
  note(
    `first reply with a spare, CPU p50: sandbox ${percentile(cpu.sandbox, 50).toFixed(1)} ms ` +
      `(${cpu.sandbox.map((v) => v.toFixed(0)).join(", ")}), plane ${percentile(cpu.host, 50).toFixed(1)} ms`,
  );
  note(
    `first reply: ${hits.length} with a spare p50 ${hitP50.toFixed(0)} ms, ` +
      `${misses.length} without p50 ${missP50.toFixed(0)} ms (${claimed} claimed a spare)`,
  );
  return results;
}

/** One message in each of `conversations` chats, {@link SCALE_BATCH} chats at a time; the same chats each call. */
async function inBatches(cleanup: Cleanup, p: Plane, conversations: number) {
  const turns: Awaited<ReturnType<typeof runClient>>["turns"] = [];
  const started = performance.now();
  for (let batch = 0; batch * SCALE_BATCH < conversations; batch++) {
    const chats = Math.min(SCALE_BATCH, conversations - batch * SCALE_BATCH);
    turns.push(...(await runClient(cleanup, p.url, `scale-${batch}`, chats, 1, SCALE_TURN_TIMEOUT_MS)).turns);
  }
  return { turns, seconds: (performance.now() - started) / 1000 };
}

/**
 * Replies still waiting in the chats after both rounds, a few seconds on:
 * each turn drained and acknowledged its own, so anything here is a reply
 * given twice (or one nobody asked for).
 */
async function leftOverReplies(p: Plane, conversations: number): Promise<number> {
  await sleep(3_000);
  let left = 0;
  for (let i = 0; i < conversations; i++) {
    const chat = `scale-${Math.floor(i / SCALE_BATCH)}-${i % SCALE_BATCH}`;
    const items = await p.plane.webChat.drain(chat);
    for (const item of items) note(`left over in ${chat}: ${item.content.slice(0, 120)}`);
    left += items.length;
  }
  return left;
}

async function hibernationAtScale(
  cleanup: Cleanup,
  at: { kind: IsolatorKind; program: string; conversations: number; idleStopMs: number },
): Promise<BenchResult[]> {
  const prefix = `journey.${at.kind}.hibernate_${at.conversations}`;
  const p = await openPlane(cleanup, { ...at, warmSpares: 1 });
  let peakMiB = 0;
  const sampler = setInterval(() => peakMiB = Math.max(peakMiB, totalRssMiB(p)), PEAK_SAMPLE_MS);
  const stopSampler = cleanup.add(() => clearInterval(sampler));
  try {
    const hostBefore = Deno.memoryUsage().rss;
    const started = performance.now();
    const first = await inBatches(cleanup, p, at.conversations);
    note(`${at.conversations} first messages answered in ${first.seconds.toFixed(0)} s; waiting for idle…`);
    const idleStarted = performance.now();
    let said = 0;
    await until("every conversation hibernated", () => {
      const live = p.plane.sandboxes.sessions().length;
      if (Date.now() - said > 30_000) {
        said = Date.now();
        note(`${live} sandbox(es) not yet hibernated`);
      }
      return live === 0 || undefined;
    }, IDLE_TIMEOUT_MS);
    const idleSeconds = (performance.now() - idleStarted) / 1000;
    await sleep(3_000);
    const idleSandboxes = p.plane.sandboxes.sessions().length;
    const idleSpares = p.plane.sandboxes.spareCount();
    const hostPerSessionMiB = (Deno.memoryUsage().rss - hostBefore) / MiB / at.conversations;
    const second = await inBatches(cleanup, p, at.conversations);
    const seconds = (performance.now() - started) / 1000;
    peakMiB = Math.max(peakMiB, totalRssMiB(p));
    const turns = [...first.turns, ...second.turns];
    const failed = turns.filter((t) => !t.ok);
    for (const t of failed.slice(0, 5)) note(`failed turn: chat ${t.chat}: ${t.error}`);
    const leftOver = await leftOverReplies(p, at.conversations);
    note(
      `${at.conversations} conversations: ${failed.length} failed turns, ${leftOver} replies left over, ` +
        `idle phase ${idleSeconds.toFixed(0)} s, peak ${peakMiB.toFixed(0)} MiB`,
    );
    return [
      { name: `${prefix}.failed_turns`, value: failed.length, unit: "count" },
      { name: `${prefix}.left_over_replies`, value: leftOver, unit: "count" },
      { name: `${prefix}.idle_phase_seconds`, value: idleSeconds, unit: "s" },
      { name: `${prefix}.peak_memory`, value: peakMiB, unit: "MiB" },
      { name: `${prefix}.sandboxes_after_idle`, value: idleSandboxes, unit: "count" },
      { name: `${prefix}.spares_after_idle`, value: idleSpares, unit: "count" },
      { name: `${prefix}.host_memory_per_hibernated_session`, value: hostPerSessionMiB, unit: "MiB" },
      { name: `${prefix}.first_turn_p50`, value: percentile(first.turns.map((t) => t.ms), 50), unit: "ms" },
      { name: `${prefix}.wake_turn_p50`, value: percentile(second.turns.map((t) => t.ms), 50), unit: "ms" },
      { name: `${prefix}.seconds`, value: seconds, unit: "s" },
    ];
  } finally {
    await stopSampler();
    await p.close();
  }
}

/** The whole benchmark. */
export async function sparesBenchmarks(options: SparesBenchOptions = {}): Promise<BenchResult[]> {
  const cleanup = new Cleanup();
  const onSignal = () => cleanup.runAll().finally(() => Deno.exit(130));
  for (const s of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(s, onSignal);
  try {
    const kind = await chooseKind(options.isolator ?? "runsc");
    if (kind !== "runsc" && kind !== "bwrap") {
      note(`${kind} takes no spares: skipped`);
      return [];
    }
    const buildDir = await Deno.makeTempDir({ prefix: "ironclaw-spares-program-" });
    cleanup.add(() => Deno.remove(buildDir, { recursive: true }).catch(() => {}));
    const program = await bundleAgent(buildDir, AGENT_SOURCE);
    const results: BenchResult[] = [{
      name: `journey.${kind}.spares.load_average_1m`,
      value: loadAverage1m(),
      unit: "",
    }];
    const samples = options.samples ?? 5;
    if (samples > 0) results.push(...await spareHitAndMiss(cleanup, { kind, program, samples }));
    const conversations = options.conversations ?? 200;
    if (conversations > 0) {
      // By default the shortest idle stop: the sweep (every second) hibernates a sandbox once it has nothing to do.
      const idleStopMs = options.idleStopMs ?? 1;
      results.push(...await hibernationAtScale(cleanup, { kind, program, conversations, idleStopMs }));
    }
    results.push({ name: `journey.${kind}.spares.load_average_1m_end`, value: loadAverage1m(), unit: "" });
    return results;
  } finally {
    for (const s of ["SIGINT", "SIGTERM"] as const) Deno.removeSignalListener(s, onSignal);
    await cleanup.runAll();
  }
}

if (import.meta.main) {
  const options: SparesBenchOptions = {};
  for (let i = 0; i < Deno.args.length; i++) {
    const [flag, inline] = Deno.args[i].split("=", 2);
    const value = () => inline ?? Deno.args[++i];
    if (flag === "--isolator") options.isolator = value() as IsolatorKind;
    else if (flag === "--samples") options.samples = Number(value());
    else if (flag === "--conversations") options.conversations = Number(value());
    else if (flag === "--idle-stop") options.idleStopMs = Number(value());
    else {
      console.error(`unknown flag ${flag}; flags: --isolator, --samples, --conversations, --idle-stop`);
      Deno.exit(2);
    }
  }
  for (const result of await sparesBenchmarks(options)) printResult(result);
}
