/**
 * The isolation walls (network, host files, queues, rootfs, program, config,
 * processes, FFI, environment, signals, model proxy identity, resource
 * limits): the host-side witnesses they need (loopback listeners, victims
 * carrying a canary secret, planted secrets with armed access times, the
 * model proxy with a decoy session behind a counting relay), what the host
 * sees while the probe holds its resources and after it ends, decided by
 * {@link decideWalls}.
 *
 * @module
 */
import { sessionKeyHex } from "../../contract/cipher.ts";
import type { SessionId } from "../../contract/ids.ts";
import { MODEL_SOCKET_NAME } from "../../contract/sockets.ts";
import { releaseFileName, SANDBOX_AGENT } from "../../isolator/mod.ts";
import { MASTER_KEY_FILE } from "../keys/mod.ts";
import { DEFAULT_SOCKET_MODE, type ModelCallRecord, ModelProxy } from "../model_proxy/mod.ts";
import { armAccessTime, changed, exists, fileHash, fingerprint, sizeOf, wasRead } from "./file_evidence.ts";
import {
  cgroupLimits,
  environHas,
  hostListeningInodes,
  interfacesOf,
  procStatus,
  socketInodes,
} from "./host_processes.ts";
import { CountingTcpListener, CountingUdpSocket, CountingUnixRelay, reachable, Victim } from "./witnesses.ts";
import { probeSpawnCandidates } from "./probe_program.ts";
import { randomHex } from "./stage.ts";
import type { ArmedWalls, WallKit, WallRun } from "./wall_kit.ts";
import { decideWalls, type Evidence } from "./walls.ts";

/** The environment variable holding the canary secret. */
export const CANARY_NAME = "IRONCLAW_VERIFY_CANARY";

const MIB = 1024 * 1024;

/** The isolation walls' kit. */
export const isolationWalls: WallKit = { name: "isolation", arm };

async function arm(run: WallRun): Promise<ArmedWalls> {
  const { stage, root, limits, probe } = run;
  const { nonce, sessionId, queue } = stage;
  const decoys = [
    stage.decoyState.masterKey,
    stage.decoyState.sealedKeys,
    stage.sibling.queue.inbound,
    stage.sibling.keyFile,
  ];
  const realMaster = run.stateDir ? `${run.stateDir}/${MASTER_KEY_FILE}` : undefined;
  const readTargets = [...decoys, ...(realMaster && exists(realMaster) ? [realMaster] : [])];
  const secretHashes = new Map<string, string>();
  for (const path of [...readTargets, "/etc/shadow"]) {
    const hash = await fileHash(path);
    if (hash) secretHashes.set(hash, path);
  }
  for (const path of decoys) armAccessTime(path);
  const inboundBefore = await fingerprint(queue.inbound);
  const inboundNames = new Set([...Deno.readDirSync(queue.inboundDir)].map((e) => e.name));
  const programBefore = await fingerprint(run.program);

  // Host-side witnesses.
  const canary = randomHex(16);
  const previousCanary = Deno.env.get(CANARY_NAME);
  Deno.env.set(CANARY_NAME, canary);
  run.defer(() => {
    if (previousCanary === undefined) Deno.env.delete(CANARY_NAME);
    else Deno.env.set(CANARY_NAME, previousCanary);
  });
  const tcp = {
    fetch: new CountingTcpListener(),
    denoConnect: new CountingTcpListener(),
    libcConnect: new CountingTcpListener(),
    afterRequest: new CountingTcpListener(),
  };
  for (const l of Object.values(tcp)) run.defer(() => l[Symbol.asyncDispose]());
  const udp = { datagram: await CountingUdpSocket.open(), dns: await CountingUdpSocket.open() };
  for (const u of Object.values(udp)) run.defer(() => u[Symbol.asyncDispose]());
  // The victims carry the canary in their environment, as a host service holding a secret would.
  const victims = {
    kill: new Victim({ [CANARY_NAME]: canary }),
    ptrace: new Victim({ [CANARY_NAME]: canary }),
  };
  for (const v of Object.values(victims)) run.defer(() => v[Symbol.asyncDispose]());
  // The model proxy, as the control plane runs it but offline (no provider credential, so only the
  // mock model answers). The sibling's real session socket sits in a private directory behind a relay
  // at the path its socket would have, so that a bare connection counts too.
  const proxyCalls: ModelCallRecord[] = [];
  const proxy = new ModelProxy({ credentials: () => undefined, onAudit: (r) => proxyCalls.push(r) });
  run.defer(() => proxy.close());
  await proxy.openSession(sessionId as SessionId, `${stage.dirs.socketDir}/${MODEL_SOCKET_NAME}`);
  const decoyBackend = `${root}/decoy-proxy/${MODEL_SOCKET_NAME}`;
  await proxy.openSession(stage.sibling.sessionId as SessionId, decoyBackend);
  const decoySocket = `${stage.sibling.socketDir}/${MODEL_SOCKET_NAME}`;
  const decoy = await CountingUnixRelay.open(decoySocket, decoyBackend, DEFAULT_SOCKET_MODE);
  run.defer(() => decoy[Symbol.asyncDispose]());

  const caps = {
    threads: limits.pids + 64,
    tmpBytes: 80 * MIB,
    workspaceBytes: 64 * MIB,
    memoryBytes: Math.ceil(limits.memoryMiB * 1.5 / 16) * 16 * MIB,
  };
  const hostMarkers = [`/ironclaw-probe-${nonce}`, `/ironclaw-probe-${nonce}-deno`];
  const tmpFile = `/tmp/ironclaw-probe-${nonce}`;
  run.defer(() => {
    for (const p of [...hostMarkers, tmpFile]) {
      try {
        Deno.removeSync(p);
      } catch {
        // absent
      }
    }
  });

  // Filled while the probe holds its resources.
  let held:
    | Pick<
      Evidence,
      | "agentProcesses"
      | "hostNetnsListeners"
      | "reachablePorts"
      | "keyChanged"
      | "rootfsMarkers"
      | "killVictimAlive"
      | "ptraceVictimTracer"
      | "tmpBytesVisible"
    >
    | undefined;
  const canarySeen: string[] = [];

  return {
    targets: {
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
      modelProxy: {
        decoySocket,
        decoySession: stage.sibling.sessionId,
        decoyAgentGroup: stage.sibling.agentGroupId,
      },
      spawnCandidates: probeSpawnCandidates(probe.kind),
      // The compiled probe's Deno.mainModule names a file inside the binary: the file to attack is the binary.
      ...(probe.kind === "executable" ? { program: SANDBOX_AGENT } : {}),
      threadCap: caps.threads,
      tmpCapBytes: caps.tmpBytes,
      workspaceCapBytes: caps.workspaceBytes,
      memoryCapBytes: caps.memoryBytes,
      holdMs: 30_000,
    },

    // The host's look while the probe holds sockets, threads, a ptrace attachment and its files.
    async whileHeld({ report, procs, agents, exited }) {
      const listening = hostListeningInodes();
      const reportedPorts = (report?.attempts ?? []).filter((a) => a.id.startsWith("listen.") && a.succeeded)
        .map((a) => Number(a.data?.port)).filter((p) => Number.isInteger(p) && p > 0);
      const reachablePorts: number[] = [];
      for (const port of reportedPorts) if (await reachable(port)) reachablePorts.push(port);
      for (const p of procs) {
        if (environHas(p.pid, canary)) canarySeen.push(`the environment of ${p.comm} (pid ${p.pid})`);
      }
      const tmpViews = [tmpFile, ...agents.map((p) => `/proc/${p.pid}/root${tmpFile}`)].filter(exists);
      const tmpBytesVisible = tmpViews.length ? Math.max(...tmpViews.map(sizeOf)) : undefined;
      held = {
        agentProcesses: agents.map((p) => {
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
        }),
        hostNetnsListeners: procs.flatMap((p) => [...socketInodes(p.pid)]).filter((i) => listening.has(i))
          .length,
        reachablePorts,
        keyChanged: keyCopyChanged(run, exited),
        rootfsMarkers: [
          ...hostMarkers,
          ...agents.flatMap((p) => hostMarkers.map((m) => `/proc/${p.pid}/root${m}`)),
          ...hostMarkers.map((m) => `${root}/isolator/bundles/${sessionId}/rootfs${m}`),
        ].filter(exists),
        killVictimAlive: victims.kill.alive(),
        ptraceVictimTracer: victims.ptrace.tracer(),
        ...(tmpBytesVisible !== undefined ? { tmpBytesVisible } : {}),
      };
    },

    async decide({ report, exit, log }) {
      const inboundDirExtra = [...Deno.readDirSync(queue.inboundDir)].map((e) => e.name)
        .filter((n) => !inboundNames.has(n) && n !== releaseFileName(nonce));
      const markers = [...Deno.readDirSync(queue.outboundDir)].map((e) => e.name)
        .filter((n) => n.endsWith(`-${nonce}`)).map((n) => n.slice(0, -(nonce.length + 1)));
      const reportText = JSON.stringify(report ?? {});
      if (reportText.includes(canary)) canarySeen.push("the probe's report");
      if (log.includes(canary)) canarySeen.push("the sandbox's log");
      for (const entry of Deno.readDirSync(queue.outboundDir)) {
        const path = `${queue.outboundDir}/${entry.name}`;
        if (entry.isFile && sizeOf(path) < MIB && Deno.readTextFileSync(path).includes(canary)) {
          canarySeen.push(`outbound file ${entry.name}`);
        }
      }
      const callsBySession: Record<string, number> = {};
      for (const call of proxyCalls) callsBySession[call.session] = (callsBySession[call.session] ?? 0) + 1;
      const workspace = stage.workspace;
      if (!held) throw new Error("the isolation walls were decided before the host looked at the held probe");
      const evidence: Evidence = {
        ...held,
        tcpConnections: {
          fetch: tcp.fetch.accepted,
          denoConnect: tcp.denoConnect.accepted,
          libcConnect: tcp.libcConnect.accepted,
          afterRequest: tcp.afterRequest.accepted,
        },
        udpDatagrams: { datagram: udp.datagram.received, dns: udp.dns.received },
        targetsRead: decoys.filter(wasRead),
        secretHashesSeen: [...secretHashes].filter(([hash]) => reportText.includes(hash)).map(([, path]) =>
          path
        ),
        inboundChanged: changed(inboundBefore, await fingerprint(queue.inbound)),
        inboundDirExtra,
        programChanged: changed(programBefore, await fingerprint(run.program)),
        markers,
        canarySeen,
        workspaceBytes: sizeOf(`${stage.dirs.workspaceDir}/ironclaw-probe-${nonce}`),
        workspaceQuota: workspace.limited
          ? { limited: true, bytes: workspace.sizeBytes }
          : { limited: false, reason: workspace.reason },
        modelProxy: {
          ownSession: sessionId,
          decoySession: stage.sibling.sessionId,
          decoyConnections: decoy.accepted,
          callsBySession,
        },
        ...(report ? { finalPhase: report.phase } : {}),
        ...(exit ? { exit } : {}),
        limits: { memoryMiB: limits.memoryMiB, pids: limits.pids },
        caps,
      };
      return decideWalls(report, evidence);
    },
  };
}

/**
 * Whether the sandbox's key copy differs from what the host wrote (content
 * or mode); gone while the sandbox runs means it was tampered with.
 */
function keyCopyChanged(run: WallRun, exited: boolean): boolean {
  const keyCopy = `${run.keyRoot}/${run.stage.sessionId}/session.key`;
  try {
    const info = Deno.statSync(keyCopy);
    return Deno.readTextFileSync(keyCopy) !== sessionKeyHex(run.stage.key) || (info.mode! & 0o777) !== 0o400;
  } catch {
    return !exited;
  }
}
