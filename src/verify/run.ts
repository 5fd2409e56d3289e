/**
 * One verification run: a throwaway session staged as the sandbox manager
 * stages a real one (`stage.ts`), every wall kit armed around it (host-side
 * witnesses, planted secrets, the probe's targets: `wall_kits.ts`), the
 * adversarial probe launched by the chosen isolator exactly like an agent
 * (`probe_program.ts`), the host's look while the probe holds its resources
 * and after it ends, then each kit's walls decided from what the host
 * observed. To add a wall, see `wall_kit.ts`.
 *
 * @module
 */
import {
  DEFAULT_LIMITS,
  type Isolator,
  type IsolatorKind,
  isolators,
  type Limits,
  type ProbeReport,
  type ProbeTargets,
  releaseFileName,
  REPORT_FILE,
  type SandboxHandle,
  type SelectOptions,
  TARGETS_FLAG,
} from "../../isolator/mod.ts";
import { resolveLibraryPath } from "../../contract/sqlite/mod.ts";
import { sandboxProcesses } from "./host_processes.ts";
import {
  chooseProbeProgram,
  probeProcesses,
  type ProbeProgram,
  probeProgram,
  ProbeProgramError,
} from "./probe_program.ts";
import { withoutHostObservations } from "./not_proven.ts";
import { randomHex, stageSession } from "./stage.ts";
import type { ArmedWalls, WallKit, WallRun } from "./wall_kit.ts";
import { WALL_KITS } from "./wall_kits.ts";
import { mountRunDisk } from "./disk_walls.ts";
import type { Wall } from "./verdict.ts";

/** How to verify. */
export interface VerifyOptions {
  /** The backend to attack. */
  isolator: IsolatorKind;
  /**
   * Backend options (runsc binary, platform, bwrap binaries…); state and key
   * directories are throwaway, and the program they run is {@link probe}.
   */
  backend?: Omit<Partial<SelectOptions>, "stateDir" | "keyRoot" | "agentExecutable">;
  /** The operator's state directory: its master key becomes a target too, when it exists. */
  stateDir?: string;
  /** How the probe is launched (default: {@link chooseProbeProgram} with no names). */
  probe?: ProbeProgram;
  /**
   * A ready probe bundle when {@link probe} is `bundle` (default: bundled from
   * source into the run's temporary directory).
   */
  program?: string;
  /** libsqlcipher (default: the resolved library). */
  library?: string;
  /** Sandbox limits (default: the production defaults). */
  limits?: Limits;
  /** Where temporary directories go (default: the system's). */
  tmpDir?: string;
  /**
   * Kits armed after `WALL_KITS`: the host's own surfaces whose code imports
   * this engine, so it cannot import them (`ironclaw verify` passes the web
   * console's).
   */
  kits?: readonly WallKit[];
  /** Told each step as it starts, so a person sees the run move (it takes seconds). */
  onProgress?: (step: string) => void;
}

/** A verification's outcome. */
export interface VerifyResult {
  isolator: { kind: IsolatorKind; strength: string; detail: string };
  walls: Wall[];
}

/** A verification's outcome, and how the probe was launched (which the signed report does not hold). */
export interface VerifyRun extends VerifyResult {
  probe: ProbeProgram;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function readReport(path: string): ProbeReport | undefined {
  try {
    return JSON.parse(Deno.readTextFileSync(path));
  } catch {
    return undefined;
  }
}

/** Runs the probe under `options.isolator` and decides every wall. */
export async function verify(options: VerifyOptions): Promise<VerifyRun> {
  const library = options.library ?? resolveLibraryPath();
  const root = Deno.makeTempDirSync({ prefix: "ironclaw-verify-", dir: options.tmpDir });
  const keyRoot = options.isolator === "process"
    ? `${root}/key-copies`
    : `/dev/shm/ironclaw-verify-${randomHex(6)}`;
  const cleanups: (() => unknown)[] = [];
  try {
    const defer = (cleanup: () => unknown) => void cleanups.push(cleanup);
    // First, before anything is written under the root: the run's own disk (the out-disk wall watches it).
    const progress = options.onProgress ?? (() => {});
    const disk = await mountRunDisk(root, defer);
    progress(`checking the ${options.isolator} sandbox backend and preparing the probe`);
    const { isolator, info, probe, program } = await prepare(root, keyRoot, options);
    const stage = await stageSession(root, { library, defer });
    const limits = options.limits ?? { ...DEFAULT_LIMITS };
    const run: WallRun = {
      root,
      disk,
      keyRoot,
      stage,
      probe,
      program,
      limits,
      backend: isolator,
      library,
      stateDir: options.stateDir,
      isolator: options.isolator,
      defer,
    };
    const kitNames = [...WALL_KITS, ...options.kits ?? []].map((k) => k.name);
    const kits: ArmedWalls[] = [];
    for (const kit of [...WALL_KITS, ...options.kits ?? []]) kits.push(await kit.arm(run));
    // Each kit fills its own fields of the targets; together they are the whole.
    const targets = Object.assign({}, ...kits.map((k) => k.targets)) as ProbeTargets;

    progress(`the probe attacks from inside a ${isolator.kind} sandbox (${kits.length} wall kits armed)`);
    const handle: SandboxHandle = await isolator.launch({
      sessionId: stage.sessionId,
      inboundDir: stage.queue.inboundDir,
      outboundDir: stage.queue.outboundDir,
      key: { bytes: stage.key },
      workspaceDir: stage.dirs.workspaceDir,
      memoryDir: stage.dirs.memoryDir,
      socketDir: stage.dirs.socketDir,
      library,
      denoPath: Deno.execPath(),
      program,
      args: [`${TARGETS_FLAG}=${JSON.stringify(targets)}`],
      limits,
      mounts: kits.flatMap((k) => k.mounts ?? []),
    });
    cleanups.push(() => handle.stop());
    let exit: { code: number | null; signal?: string } | undefined;
    handle.exited.then((s) => (exit = s));

    // Wait for the probe to hold its resources (or to die trying), then look.
    const reportPath = `${stage.queue.outboundDir}/${REPORT_FILE}`;
    const holdDeadline = Date.now() + 120_000;
    while (!exit && Date.now() < holdDeadline && readReport(reportPath)?.phase !== "hold") await sleep(50);
    const procs = sandboxProcesses(root);
    const heldReport = readReport(reportPath);
    const held = {
      report: heldReport,
      procs,
      agents: probeProcesses(procs, probe.kind),
      exited: exit !== undefined,
    };
    progress("the probe holds what it took; the host looks from outside");
    for (const kit of kits) await kit.whileHeld?.(held);

    // Let the probe go on to its last attempt, and wait for the end.
    progress("the probe makes its last attempts");
    Deno.writeTextFileSync(`${stage.queue.inboundDir}/${releaseFileName(stage.nonce)}`, "");
    const exitDeadline = Date.now() + 60_000;
    while (!exit && Date.now() < exitDeadline) await sleep(50);
    await handle.stop();
    const end = {
      report: readReport(reportPath) ?? heldReport,
      exit,
      log: await Deno.readTextFile(handle.logPath).catch(() => ""),
    };
    const walls: Wall[] = [];
    for (const [i, kit] of kits.entries()) {
      const decided = await kit.decide(end);
      walls.push(...decided);
      const held = decided.filter((w) => w.held).length;
      progress(`${kitNames[i]} walls: ${held}/${decided.length} held`);
    }
    // The node agent sees a Pod only through the API: nothing there is held without the host's observations.
    if (isolator.kind === "kubernetes") {
      return { isolator: info, probe, walls: withoutHostObservations(walls, end) };
    }
    return { isolator: info, probe, walls };
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch {
        // best effort
      }
    }
    for (const dir of [root, keyRoot]) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * The backend, checked available, and the program it runs. In executable
 * mode the backend runs (and its check smoke-runs) the compiled probe, as it
 * would the installation's compiled agent; otherwise Deno with the bundle.
 */
async function prepare(root: string, keyRoot: string, options: VerifyOptions): Promise<{
  isolator: Isolator;
  info: VerifyResult["isolator"];
  probe: ProbeProgram;
  program: string;
}> {
  const probe = options.probe ?? chooseProbeProgram();
  if (probe.kind === "executable" && options.program !== undefined) {
    throw new ProbeProgramError(
      `a probe bundle (${options.program}) cannot run as the compiled probe ${probe.executable}`,
    );
  }
  const isolator = isolators({
    ...options.backend,
    stateDir: `${root}/isolator`,
    keyRoot,
    ...(probe.kind === "executable" ? { agentExecutable: probe.executable } : {}),
  })[options.isolator];
  const check = await isolator.check();
  if (!check.ok) throw new Error(`isolator ${options.isolator} is not available: ${check.detail}`);
  const program = probe.kind === "executable"
    ? probe.executable!
    : options.program ?? await probeProgram(`${root}/program`);
  return {
    isolator,
    info: { kind: isolator.kind, strength: isolator.strength, detail: check.detail },
    probe,
    program,
  };
}
