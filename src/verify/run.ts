/**
 * One verification run: a throwaway session (temporary directories, a fresh
 * key, a sibling session and decoy host secrets to steal), the host's model
 * proxy serving the session and the sibling on their own sockets, the
 * adversarial probe launched by the chosen isolator exactly like an agent,
 * host-side listeners, victims and a canary secret, then the walls decided
 * from what the host observed.
 *
 * The probe runs the way the installation's agent runs
 * ({@link chooseProbeProgram}, the same choice as `src/sandbox/agent_program.ts`):
 * from source it is bundled and run by `deno run` with the agent's flags; a
 * compiled host (a release) runs the compiled `ironclaw-probe` beside it, or
 * a named one, directly, its flags baked in, with no Deno in the sandbox.
 *
 * @module
 */
import { asSessionKey, sessionKeyHex } from "../../contract/cipher.ts";
import type { SessionId } from "../../contract/ids.ts";
import { MODEL_SOCKET_NAME } from "../../contract/sockets.ts";
import { provisionSession } from "../../contract/queue/host.ts";
import { resolveLibraryPath } from "../../contract/sqlite/mod.ts";
import { isolators, type SelectOptions } from "../../isolator/select.ts";
import {
  type AgentProgramKind,
  DEFAULT_LIMITS,
  type IsolatorKind,
  type Limits,
  type SandboxHandle,
} from "../../isolator/types.ts";
import { SANDBOX_AGENT, SANDBOX_DENO, SANDBOX_GID, SANDBOX_UID } from "../../isolator/plan.ts";
import {
  type ProbeReport,
  type ProbeTargets,
  releaseFileName,
  REPORT_FILE,
  TARGETS_FLAG,
} from "../../isolator/probe/report.ts";
import { ensureVolume, releaseVolume, type Volume } from "../../isolator/volume.ts";
import {
  bundleAgent,
  chooseReleaseExecutable,
  type ReleaseExecutableOptions,
  type ReleaseProgram,
} from "../sandbox/agent_program.ts";
import { MASTER_KEY_FILE } from "../keys/mod.ts";
import { DEFAULT_SOCKET_MODE, type ModelCallRecord, ModelProxy } from "../model_proxy/mod.ts";
import { sessionDirs } from "../sandbox/session_dirs.ts";
import {
  agentSideProcesses,
  armAccessTime,
  cgroupLimits,
  changed,
  CountingTcpListener,
  CountingUdpSocket,
  CountingUnixRelay,
  environHas,
  exists,
  fileHash,
  fingerprint,
  hostListeningInodes,
  type HostProcess,
  interfacesOf,
  procStatus,
  reachable,
  sandboxProcesses,
  sizeOf,
  socketInodes,
  Victim,
  wasRead,
  withDescendants,
} from "./observe.ts";
import { decideWalls, type Evidence, type Wall } from "./walls.ts";

/** The probe's source entry point. */
export const PROBE_SOURCE = new URL("../../isolator/probe/main.ts", import.meta.url).pathname;

/** The compiled probe's file name, as `deno task compile` writes it beside `ironclaw`. */
export const PROBE_EXECUTABLE_NAME = "ironclaw-probe";

/** The environment variable that names the compiled probe (like `verify --probe-program`). */
export const PROBE_PROGRAM_ENV = "IRONCLAW_PROBE_PROGRAM";

/** The probe program cannot be had as configured (not found, not runnable); the message is one line. */
export class ProbeProgramError extends Error {
  override name = "ProbeProgramError";
}

/** The probe, as a release ships it beside `ironclaw` and `ironclaw-agent`. */
export const PROBE_RELEASE_PROGRAM: ReleaseProgram = {
  name: PROBE_EXECUTABLE_NAME,
  noun: "probe program",
  howToName: `verify --probe-program PATH or $${PROBE_PROGRAM_ENV}`,
  error: ProbeProgramError,
};

/** How the probe is launched: the way the installation's agent is. */
export interface ProbeProgram {
  /** `bundle`: Deno runs the probe's bundle with the agent's flags; `executable`: the compiled probe runs directly. */
  kind: AgentProgramKind;
  /** The compiled probe (absolute, checked runnable by the sandbox's uid), when {@link kind} is `executable`. */
  executable?: string;
  /** One line for the operator: which program, how it runs, and why this one. */
  description: string;
}

/**
 * Chooses the probe program as the agent's is chosen: a named compiled
 * probe (`verify --probe-program`, `$IRONCLAW_PROBE_PROGRAM`), else, in a
 * compiled host, the `ironclaw-probe` beside its executable (a compiled host
 * has no Deno to bundle with; a missing file is a {@link ProbeProgramError}
 * saying where it looked), else the probe bundled from source.
 */
export function chooseProbeProgram(options: ReleaseExecutableOptions = {}): ProbeProgram {
  const way = chooseReleaseExecutable(PROBE_RELEASE_PROGRAM, options);
  if (way.kind === "executable") {
    return {
      kind: "executable",
      executable: way.path,
      description: `${way.path} (the compiled probe, run directly like the compiled agent; ${way.from})`,
    };
  }
  return {
    kind: "bundle",
    description: `${PROBE_SOURCE} bundled with ${Deno.execPath()}, run by deno run with the agent's flags`,
  };
}

/**
 * The programs the probe tries to start: a shell; Deno, which a bundle's
 * sandbox holds at a fixed path; in executable mode the program itself, the
 * one runtime a compiled agent's sandbox surely holds (no Deno is bound in
 * there); and the host's own executable, which must not be reachable.
 */
export function probeSpawnCandidates(kind: AgentProgramKind, hostExecutable = Deno.execPath()): string[] {
  return kind === "executable"
    ? ["/bin/sh", "/usr/bin/sh", SANDBOX_AGENT, SANDBOX_DENO, hostExecutable]
    : ["/bin/sh", "/usr/bin/sh", SANDBOX_DENO, hostExecutable];
}

/**
 * Among the sandbox's processes (`procs`), those that run the probe's code:
 * Deno or gVisor's (see `agentSideProcesses`) and, in executable mode, the
 * compiled program, which runs under its own name at its fixed path rather
 * than as `deno` (its launchers, which name that path as a bind target, are
 * not it); with all their descendants.
 */
export function probeProcesses(procs: HostProcess[], kind: AgentProgramKind): HostProcess[] {
  const agentSide = agentSideProcesses(procs);
  if (kind !== "executable") return agentSide;
  const seeds = new Map(
    [...agentSide, ...procs.filter((p) => p.argv[0] === SANDBOX_AGENT)].map((p) => [p.pid, p]),
  );
  return withDescendants([...seeds.values()], procs);
}

/**
 * The workspace volume of a verification run: as an agent group's, but small,
 * so the probe (which writes up to 64 MiB) fills it quickly.
 */
export const VERIFY_WORKSPACE_BYTES = 32 * 1024 * 1024;
const VERIFY_MEMORY_BYTES = 16 * 1024 * 1024;

/** The environment variable holding the canary secret. */
export const CANARY_NAME = "IRONCLAW_VERIFY_CANARY";

const MIB = 1024 * 1024;

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

/** Bundles the probe into one `.js` file in `dir` (as the agent is bundled), returning its path. */
export function probeProgram(dir: string): Promise<string> {
  return bundleAgent(dir, PROBE_SOURCE);
}

function randomHex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0"))
    .join("");
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
  const limits = options.limits ?? { ...DEFAULT_LIMITS };
  const root = Deno.makeTempDirSync({ prefix: "ironclaw-verify-", dir: options.tmpDir });
  const keyRoot = options.isolator === "process"
    ? `${root}/key-copies`
    : `/dev/shm/ironclaw-verify-${randomHex(6)}`;
  const cleanups: (() => Promise<void> | void)[] = [];
  const nonce = randomHex(8);
  const previousCanary = Deno.env.get(CANARY_NAME);
  try {
    const probe = options.probe ?? chooseProbeProgram();
    if (probe.kind === "executable" && options.program !== undefined) {
      throw new ProbeProgramError(
        `a probe bundle (${options.program}) cannot run as the compiled probe ${probe.executable}`,
      );
    }
    // In executable mode the backend runs (and its check smoke-runs) the compiled probe, as it would the
    // installation's compiled agent; otherwise Deno with the bundle.
    const isolator = isolators({
      ...options.backend,
      stateDir: `${root}/isolator`,
      keyRoot,
      ...(probe.kind === "executable" ? { agentExecutable: probe.executable } : {}),
    })[options.isolator];
    const check = await isolator.check();
    if (!check.ok) throw new Error(`isolator ${options.isolator} is not available: ${check.detail}`);
    const info = { kind: isolator.kind, strength: isolator.strength, detail: check.detail };
    const program = probe.kind === "executable"
      ? probe.executable!
      : options.program ?? await probeProgram(`${root}/program`);

    // The throwaway session, and a sibling session whose queue, key and model socket the probe must not reach.
    const sessionId = `verify_${nonce}`;
    const siblingId = `sibling_${nonce}`;
    const key = asSessionKey(crypto.getRandomValues(new Uint8Array(32)));
    const queueOpts = { library, key, sandboxUid: SANDBOX_UID, sandboxGid: SANDBOX_GID };
    const paths = provisionSession(`${root}/queues`, sessionId, queueOpts);
    const sibling = provisionSession(`${root}/queues`, siblingId, {
      ...queueOpts,
      key: asSessionKey(crypto.getRandomValues(new Uint8Array(32))),
    });
    const siblingKey = `${root}/keys/sibling_${nonce}/session.key`;
    Deno.mkdirSync(`${root}/keys/sibling_${nonce}`, { recursive: true, mode: 0o700 });
    Deno.writeTextFileSync(siblingKey, randomHex(32), { mode: 0o600 });
    // A decoy host state directory: a master key and sealed keys.
    const decoyState = `${root}/state`;
    Deno.mkdirSync(decoyState, { mode: 0o700 });
    Deno.writeFileSync(`${decoyState}/${MASTER_KEY_FILE}`, crypto.getRandomValues(new Uint8Array(32)), {
      mode: 0o600,
    });
    Deno.writeTextFileSync(`${decoyState}/sealed-keys.json`, JSON.stringify({ decoy: randomHex(32) }), {
      mode: 0o600,
    });
    // Both sessions' socket directories where the sandbox manager puts them (side by side under the
    // sandbox root), made as it makes them: 0711 and handed to the sandbox's uid when the host is root.
    const socketDir = (id: string) => sessionDirs(root, id, "verify").socketDir;
    for (const id of [sessionId, siblingId]) {
      Deno.mkdirSync(socketDir(id), { recursive: true, mode: 0o711 });
      Deno.chmodSync(socketDir(id), 0o711);
      if (Deno.uid() === 0) Deno.chownSync(socketDir(id), SANDBOX_UID, SANDBOX_GID);
    }
    // Workspace and memory as the sandbox manager makes them: size-limited volumes where the host allows.
    Deno.mkdirSync(`${root}/volumes`, { mode: 0o700 });
    const volumes: Volume[] = [];
    for (
      const [name, sizeBytes] of [["workspace", VERIFY_WORKSPACE_BYTES], [
        "memory",
        VERIFY_MEMORY_BYTES,
      ]] as const
    ) {
      cleanups.push(() => releaseVolume(`${root}/${name}`));
      volumes.push(
        await ensureVolume({
          image: `${root}/volumes/${name}.img`,
          mountPoint: `${root}/${name}`,
          sizeBytes,
          mode: 0o711,
        }),
      );
    }
    const workspaceVolume = volumes[0];

    const decoys = [
      `${decoyState}/${MASTER_KEY_FILE}`,
      `${decoyState}/sealed-keys.json`,
      sibling.inbound,
      siblingKey,
    ];
    const realMaster = options.stateDir ? `${options.stateDir}/${MASTER_KEY_FILE}` : undefined;
    const readTargets = [...decoys, ...(realMaster && exists(realMaster) ? [realMaster] : [])];
    const secretHashes = new Map<string, string>();
    for (const path of [...readTargets, "/etc/shadow"]) {
      const hash = await fileHash(path);
      if (hash) secretHashes.set(hash, path);
    }
    for (const path of decoys) armAccessTime(path);
    const inboundBefore = await fingerprint(paths.inbound);
    const inboundNames = new Set([...Deno.readDirSync(paths.inboundDir)].map((e) => e.name));
    const programBefore = await fingerprint(program);

    // Host-side witnesses.
    const canary = randomHex(16);
    Deno.env.set(CANARY_NAME, canary);
    const tcp = {
      fetch: new CountingTcpListener(),
      denoConnect: new CountingTcpListener(),
      libcConnect: new CountingTcpListener(),
      afterRequest: new CountingTcpListener(),
    };
    for (const l of Object.values(tcp)) cleanups.push(() => l[Symbol.asyncDispose]());
    const udp = { datagram: await CountingUdpSocket.open(), dns: await CountingUdpSocket.open() };
    for (const u of Object.values(udp)) cleanups.push(() => u[Symbol.asyncDispose]());
    // The victims carry the canary in their environment, as a host service holding a secret would.
    const victims = {
      kill: new Victim({ [CANARY_NAME]: canary }),
      ptrace: new Victim({ [CANARY_NAME]: canary }),
    };
    for (const v of Object.values(victims)) cleanups.push(() => v[Symbol.asyncDispose]());
    // The model proxy, as the control plane runs it but offline (no provider credential, so only the
    // mock model answers). The sibling's real session socket sits in a private directory behind a relay
    // at the path its socket would have, so that a bare connection counts too.
    const proxyCalls: ModelCallRecord[] = [];
    const proxy = new ModelProxy({ credentials: () => undefined, onAudit: (r) => proxyCalls.push(r) });
    cleanups.push(() => proxy.close());
    await proxy.openSession(sessionId as SessionId, `${socketDir(sessionId)}/${MODEL_SOCKET_NAME}`);
    const decoyBackend = `${root}/decoy-proxy/${MODEL_SOCKET_NAME}`;
    await proxy.openSession(siblingId as SessionId, decoyBackend);
    const decoySocket = `${socketDir(siblingId)}/${MODEL_SOCKET_NAME}`;
    const decoy = await CountingUnixRelay.open(decoySocket, decoyBackend, DEFAULT_SOCKET_MODE);
    cleanups.push(() => decoy[Symbol.asyncDispose]());

    const targets: ProbeTargets = {
      nonce,
      canaryName: CANARY_NAME,
      tcp: {
        fetch: tcp.fetch.port,
        denoConnect: tcp.denoConnect.port,
        libcConnect: tcp.libcConnect.port,
        afterRequest: tcp.afterRequest.port,
      },
      udp: { datagram: udp.datagram.port, dns: udp.dns.port },
      hostPid: Deno.pid,
      victims: { kill: victims.kill.pid, ptrace: victims.ptrace.pid },
      readTargets,
      modelProxy: { decoySocket, decoySession: siblingId, decoyAgentGroup: `sibling-group-${nonce}` },
      spawnCandidates: probeSpawnCandidates(probe.kind),
      // The compiled probe's Deno.mainModule names a file inside the binary: the file to attack is the binary.
      ...(probe.kind === "executable" ? { program: SANDBOX_AGENT } : {}),
      threadCap: limits.pids + 64,
      tmpCapBytes: 80 * MIB,
      workspaceCapBytes: 64 * MIB,
      memoryCapBytes: Math.ceil(limits.memoryMiB * 1.5 / 16) * 16 * MIB,
      holdMs: 30_000,
    };
    const hostMarkers = [`/ironclaw-probe-${nonce}`, `/ironclaw-probe-${nonce}-deno`];
    const tmpFile = `/tmp/ironclaw-probe-${nonce}`;
    cleanups.push(() => {
      for (const p of [...hostMarkers, tmpFile]) {
        try {
          Deno.removeSync(p);
        } catch {
          // absent
        }
      }
    });

    const handle: SandboxHandle = await isolator.launch({
      sessionId,
      inboundDir: paths.inboundDir,
      outboundDir: paths.outboundDir,
      key: { bytes: key },
      workspaceDir: `${root}/workspace`,
      memoryDir: `${root}/memory`,
      socketDir: socketDir(sessionId),
      library,
      denoPath: Deno.execPath(),
      program,
      args: [`${TARGETS_FLAG}=${JSON.stringify(targets)}`],
      limits,
    });
    cleanups.push(() => handle.stop());
    let exit: { code: number | null; signal?: string } | undefined;
    handle.exited.then((s) => (exit = s));

    // Wait for the probe to hold its resources (or to die trying).
    const reportPath = `${paths.outboundDir}/${REPORT_FILE}`;
    const holdDeadline = Date.now() + 120_000;
    while (!exit && Date.now() < holdDeadline && readReport(reportPath)?.phase !== "hold") await sleep(50);

    // The host's look while the probe holds sockets, threads, a ptrace attachment and its files.
    const procs = sandboxProcesses(root);
    const agents = probeProcesses(procs, probe.kind);
    const agentEvidence = agents.map((p) => {
      const limitsOf = cgroupLimits(p.pid);
      const threads = Number(procStatus(p.pid)?.Threads);
      return {
        pid: p.pid,
        comm: p.comm,
        interfaces: interfacesOf(p.pid),
        ...(Number.isFinite(threads) ? { threads } : {}),
        ...(limitsOf.memoryBytes !== undefined ? { memoryLimitBytes: limitsOf.memoryBytes } : {}),
        ...(limitsOf.pids !== undefined ? { pidsLimit: limitsOf.pids } : {}),
      };
    });
    const listening = hostListeningInodes();
    const hostNetnsListeners = procs.flatMap((p) => [...socketInodes(p.pid)]).filter((i) =>
      listening.has(i)
    ).length;
    const heldReport = readReport(reportPath);
    const reportedPorts = (heldReport?.attempts ?? []).filter((a) =>
      a.id.startsWith("listen.") && a.succeeded
    )
      .map((a) => Number(a.data?.port)).filter((p) => Number.isInteger(p) && p > 0);
    const reachablePorts: number[] = [];
    for (const port of reportedPorts) if (await reachable(port)) reachablePorts.push(port);
    const canarySeen: string[] = [];
    for (const p of procs) {
      if (environHas(p.pid, canary)) canarySeen.push(`the environment of ${p.comm} (pid ${p.pid})`);
    }
    const keyCopy = `${keyRoot}/${sessionId}/session.key`;
    let keyChanged = false;
    try {
      const info = Deno.statSync(keyCopy);
      keyChanged = Deno.readTextFileSync(keyCopy) !== sessionKeyHex(key) || (info.mode! & 0o777) !== 0o400;
    } catch {
      keyChanged = exit === undefined; // gone while the sandbox runs: it was tampered with
    }
    const rootfsMarkers = [
      ...hostMarkers,
      ...agents.flatMap((p) => hostMarkers.map((m) => `/proc/${p.pid}/root${m}`)),
      ...hostMarkers.map((m) => `${root}/isolator/bundles/${sessionId}/rootfs${m}`),
    ].filter(exists);
    const tmpViews = [tmpFile, ...agents.map((p) => `/proc/${p.pid}/root${tmpFile}`)].filter(exists);
    const tmpBytesVisible = tmpViews.length ? Math.max(...tmpViews.map(sizeOf)) : undefined;
    const killVictimAlive = victims.kill.alive();
    const ptraceVictimTracer = victims.ptrace.tracer();

    // Let the probe go on to its last attempt, and wait for the end.
    Deno.writeTextFileSync(`${paths.inboundDir}/${releaseFileName(nonce)}`, "");
    const exitDeadline = Date.now() + 60_000;
    while (!exit && Date.now() < exitDeadline) await sleep(50);
    await handle.stop();
    const finalReport = readReport(reportPath) ?? heldReport;

    const inboundDirExtra = [...Deno.readDirSync(paths.inboundDir)].map((e) => e.name)
      .filter((n) => !inboundNames.has(n) && n !== releaseFileName(nonce));
    const markers = [...Deno.readDirSync(paths.outboundDir)].map((e) => e.name)
      .filter((n) => n.endsWith(`-${nonce}`)).map((n) => n.slice(0, -(nonce.length + 1)));
    const reportText = JSON.stringify(finalReport ?? {});
    if (reportText.includes(canary)) canarySeen.push("the probe's report");
    const log = await Deno.readTextFile(handle.logPath).catch(() => "");
    if (log.includes(canary)) canarySeen.push("the sandbox's log");
    for (const entry of Deno.readDirSync(paths.outboundDir)) {
      const path = `${paths.outboundDir}/${entry.name}`;
      if (entry.isFile && sizeOf(path) < MIB && Deno.readTextFileSync(path).includes(canary)) {
        canarySeen.push(`outbound file ${entry.name}`);
      }
    }

    const callsBySession: Record<string, number> = {};
    for (const call of proxyCalls) callsBySession[call.session] = (callsBySession[call.session] ?? 0) + 1;
    const evidence: Evidence = {
      agentProcesses: agentEvidence,
      tcpConnections: {
        fetch: tcp.fetch.accepted,
        denoConnect: tcp.denoConnect.accepted,
        libcConnect: tcp.libcConnect.accepted,
        afterRequest: tcp.afterRequest.accepted,
      },
      udpDatagrams: { datagram: udp.datagram.received, dns: udp.dns.received },
      hostNetnsListeners,
      reachablePorts,
      targetsRead: decoys.filter(wasRead),
      secretHashesSeen: [...secretHashes].filter(([hash]) => reportText.includes(hash)).map(([, path]) =>
        path
      ),
      inboundChanged: changed(inboundBefore, await fingerprint(paths.inbound)),
      inboundDirExtra,
      rootfsMarkers,
      programChanged: changed(programBefore, await fingerprint(program)),
      keyChanged,
      markers,
      canarySeen,
      killVictimAlive,
      ptraceVictimTracer,
      ...(tmpBytesVisible !== undefined ? { tmpBytesVisible } : {}),
      workspaceBytes: sizeOf(`${root}/workspace/ironclaw-probe-${nonce}`),
      workspaceQuota: workspaceVolume.limited
        ? { limited: true, bytes: workspaceVolume.sizeBytes }
        : { limited: false, reason: workspaceVolume.reason },
      modelProxy: {
        ownSession: sessionId,
        decoySession: siblingId,
        decoyConnections: decoy.accepted,
        callsBySession,
      },
      ...(finalReport ? { finalPhase: finalReport.phase } : {}),
      ...(exit ? { exit } : {}),
      limits: { memoryMiB: limits.memoryMiB, pids: limits.pids },
      caps: {
        threads: targets.threadCap,
        tmpBytes: targets.tmpCapBytes,
        workspaceBytes: targets.workspaceCapBytes,
        memoryBytes: targets.memoryCapBytes,
      },
    };
    return { isolator: info, probe, walls: decideWalls(finalReport, evidence) };
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch {
        // best effort
      }
    }
    if (previousCanary === undefined) Deno.env.delete(CANARY_NAME);
    else Deno.env.set(CANARY_NAME, previousCanary);
    for (const dir of [root, keyRoot]) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
