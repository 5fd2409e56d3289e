/**
 * The isolation walls' verdicts (network, host files, queues, rootfs,
 * program, config, processes, FFI, environment, signals, model proxy
 * identity, resource limits), from the probe's report and what the host
 * observed, under the common rule of `verdict.ts`.
 *
 * @module
 */
import type { Attempt, ProbeReport } from "../../isolator/mod.ts";
import { decideWall, pickAttempts, summarize, type Wall } from "./verdict.ts";

/** What one agent-side host process looked like (the Deno process, or gVisor's Sentry). */
export interface AgentProcessEvidence {
  pid: number;
  comm: string;
  /** Interfaces of its network namespace; undefined when unreadable. */
  interfaces?: string[];
  /** Threads, from `/proc/<pid>/status`. */
  threads?: number;
  /** Limits of its cgroups. */
  memoryLimitBytes?: number;
  pidsLimit?: number;
}

/**
 * The host's model proxy during the run: the probe's session and a decoy
 * session each have their own socket, and the proxy books every call to the
 * session whose socket it came in on.
 */
export interface ModelProxyEvidence {
  /** The probe's session. */
  ownSession: string;
  /** The other session, whose socket the probe must not reach and whose identity it claims. */
  decoySession: string;
  /** Connections the decoy session's socket accepted. */
  decoyConnections: number;
  /** Calls the proxy recorded (its audit records), by the session it booked them to. */
  callsBySession: Record<string, number>;
}

/** Everything the host observed itself. */
export interface Evidence {
  /** Agent-side processes seen while the probe held its resources (empty if never seen). */
  agentProcesses: AgentProcessEvidence[];
  /** Connections each loopback TCP listener accepted. */
  tcpConnections: Record<"fetch" | "denoConnect" | "libcConnect" | "afterRequest", number>;
  /** Datagrams the UDP socket and the fake DNS server received. */
  udpDatagrams: { datagram: number; dns: number };
  /** Listening sockets of sandbox processes in the host's network namespace. */
  hostNetnsListeners: number;
  /** Probe-reported ports the host could connect to. */
  reachablePorts: number[];
  /** Host files the probe was told to read that the host saw read (access time moved). */
  targetsRead: string[];
  /** Secret files whose SHA-256 appears in the probe's report. */
  secretHashesSeen: string[];
  /** Whether inbound.db (hash, size, mode, mtime) changed, and new names in its directory. */
  inboundChanged: boolean;
  inboundDirExtra: string[];
  /** Marker files found where the rootfs write attempts would leave them. */
  rootfsMarkers: string[];
  /** Whether the agent program file changed. */
  programChanged: boolean;
  /** Whether the sandbox's key copy differed from what the host wrote (content or mode) during the run. */
  keyChanged: boolean;
  /** Marker files (by kind) found in the outbound directory. */
  markers: string[];
  /** Where the canary secret was found by the host (process environments, report, log, files). */
  canarySeen: string[];
  /** Whether the kill victim was alive, and who traced the ptrace victim, during the hold. */
  killVictimAlive: boolean;
  ptraceVictimTracer: number;
  /** Bytes of the probe's /tmp file the host could see (undefined when the host cannot see the sandbox's /tmp). */
  tmpBytesVisible?: number;
  /** Bytes of the probe's workspace file on the host. */
  workspaceBytes: number;
  /** Whether the workspace was a size-limited volume (and its size), or why not. */
  workspaceQuota: { limited: true; bytes: number } | { limited: false; reason: string };
  /** What the host's model proxy saw (see {@link ModelProxyEvidence}). */
  modelProxy: ModelProxyEvidence;
  /** The phase the final report was left in, and how the sandbox ended. */
  finalPhase?: string;
  exit?: { code: number | null; signal?: string };
  /** The limits the sandbox was launched with. */
  limits: { memoryMiB: number; pids: number };
  /** The caps the probe was given. */
  caps: { threads: number; tmpBytes: number; workspaceBytes: number; memoryBytes: number };
}

const MIB = 1024 * 1024;

/** Maps the probe's report and the host's evidence to walls, in a fixed order. */
export function decideWalls(report: ProbeReport | undefined, e: Evidence): Wall[] {
  const walls: Wall[] = [];
  const seen = e.agentProcesses.length > 0;
  const noProcs = seen ? [] : ["the host never saw the sandbox's processes, so it has no evidence"];

  {
    const c = e.tcpConnections;
    const total = c.fetch + c.denoConnect + c.libcConnect + c.afterRequest;
    walls.push(decideWall("network-tcp", {
      attempts: pickAttempts(report, "tcp."),
      expected: 4,
      breaches: total ? [`host listeners accepted ${total} connection(s) (${JSON.stringify(c)})`] : [],
      heldNote:
        "host loopback listeners accepted 0 connections (fetch, Deno.connect, libc connect, after a permission request)",
    }));
  }
  {
    const { datagram, dns } = e.udpDatagrams;
    // A datagram "sent" into the sandbox's own empty network reaches no one: the host's socket decides.
    const sends = pickAttempts(report, "udp.");
    const resolves = pickAttempts(report, "dns.");
    const wall = decideWall("network-udp-dns", {
      attempts: resolves,
      expected: 2,
      breaches: [
        ...(datagram + dns
          ? [`host UDP sockets received ${datagram} datagram(s) and ${dns} DNS quer(ies)`]
          : []),
        ...(sends.length < 1 ? ["the probe reported no UDP send (fail closed)"] : []),
      ],
      heldNote: "host UDP socket and fake DNS server received nothing",
    });
    const sent = sends.filter((a) => a.succeeded);
    if (wall.held && sent.length) wall.detail += ` (${summarize(sent)} inside the sandbox's own network)`;
    else if (wall.held) wall.detail += ` (${summarize(sends)})`;
    walls.push(wall);
  }
  {
    const attempts = pickAttempts(report, "listen.");
    const breaches = [...noProcs];
    if (e.hostNetnsListeners) {
      breaches.push(`${e.hostNetnsListeners} listening socket(s) of the sandbox in the host's network`);
    }
    if (e.reachablePorts.length) {
      breaches.push(`the host reached reported port(s) ${e.reachablePorts.join(",")}`);
    }
    if (attempts.length < 2) {
      breaches.push(`the probe reported ${attempts.length} of 2 attempts (fail closed)`);
    }
    // Listening inside the sandbox's own, empty network namespace reaches no one: not a breach.
    const inside = attempts.filter((a) => a.succeeded);
    walls.push({
      name: "network-listen",
      held: breaches.length === 0,
      detail: breaches.length
        ? breaches.join("; ")
        : "no listening socket of the sandbox in the host's network, none reachable from the host" +
          (inside.length
            ? ` (the probe listened inside its own network namespace: ${summarize(inside)})`
            : "; 2 attempts refused"),
    });
  }
  {
    const breaches = [...noProcs];
    for (const p of e.agentProcesses) {
      if (p.interfaces === undefined) {
        breaches.push(`cannot read the network namespace of ${p.comm} (pid ${p.pid})`);
      } else if (p.interfaces.some((i) => i !== "lo")) {
        breaches.push(`${p.comm} (pid ${p.pid}) runs in a network namespace with ${p.interfaces.join(",")}`);
      }
    }
    walls.push(
      decideWall("network-interfaces", {
        attempts: pickAttempts(report, "ifaces."),
        expected: 4,
        breaches: breaches,
        heldNote: `the agent's host-side process(es) (${
          e.agentProcesses.map((p) => `${p.comm} ${p.pid}`).join(", ")
        }) see only lo`,
      }),
    );
  }
  {
    const breaches: string[] = [];
    if (e.targetsRead.length) {
      breaches.push(`host saw reads of ${e.targetsRead.join(", ")} (access time moved)`);
    }
    if (e.secretHashesSeen.length) {
      breaches.push(`the report holds the hash of ${e.secretHashesSeen.join(", ")}`);
    }
    const attempts = pickAttempts(report, "read.");
    walls.push(
      decideWall("host-files", {
        attempts: attempts,
        expected: 1,
        breaches: breaches,
        heldNote:
          "no planted secret's access time moved, no secret's hash in the report (/etc/shadow, state dir, " +
          "master key, another session's queue and key)",
      }),
    );
  }
  walls.push(
    decideWall("inbound-readonly", {
      attempts: pickAttempts(report, "inbound."),
      expected: 3,
      breaches: [
        ...(e.inboundChanged ? ["inbound.db changed"] : []),
        ...(e.inboundDirExtra.length
          ? [`new file(s) beside inbound.db: ${e.inboundDirExtra.join(", ")}`]
          : []),
      ],
      heldNote: "inbound.db unchanged (hash, size, mode, mtime), nothing added beside it",
    }),
  );
  walls.push(
    decideWall("rootfs-readonly", {
      attempts: pickAttempts(report, "rootfs."),
      expected: 2,
      breaches: e.rootfsMarkers.length ? [`marker file(s) written: ${e.rootfsMarkers.join(", ")}`] : [],
      heldNote: "no marker file on the host's root, the sandbox's root or the bundle's rootfs",
    }),
  );
  walls.push(
    decideWall("agent-program", {
      attempts: pickAttempts(report, "program."),
      expected: 2,
      breaches: e.programChanged ? ["the agent program file changed"] : [],
      heldNote: "the agent program file is unchanged",
    }),
  );
  walls.push(decideWall("own-config", {
    attempts: pickAttempts(report, "config."),
    expected: 4,
    breaches: [
      ...(e.keyChanged ? ["the session key file changed (content or mode)"] : []),
      ...(e.tcpConnections.afterRequest ? ["a permission request opened the network"] : []),
    ],
    heldNote: "the key file kept its content and mode; permission requests granted nothing usable",
  }));
  {
    const found = e.markers.filter((m) => m.startsWith("spawn-"));
    walls.push(
      decideWall("processes", {
        attempts: pickAttempts(report, "spawn."),
        expected: 4,
        breaches: found.length ? [`a started program left its marker: ${found.join(", ")}`] : [],
        heldNote: "no started program left a marker",
      }),
    );
  }
  {
    const found = e.markers.filter((m) => m.startsWith("ffi-dlopen"));
    const route = pickAttempts(report, "ffi.libc_via_sqlcipher")[0];
    const routeNote = e.markers.includes("ffi-libc")
      ? "libc is reachable through libsqlcipher's dependencies (confirmed by its marker; the sandbox must hold)"
      : `libc through libsqlcipher: ${route ? route.detail : "not reported"}`;
    walls.push(
      decideWall("ffi-scope", {
        attempts: pickAttempts(report, "ffi.dlopen_"),
        expected: 2,
        breaches: found.length ? [`another library was loaded and used: ${found.join(", ")}`] : [],
        heldNote: `Deno refused every library but libsqlcipher, no marker; ${routeNote}`,
      }),
    );
  }
  {
    const attempts = pickAttempts(report, "env.");
    const breaches = [...noProcs];
    if (e.canarySeen.length) breaches.push(`the canary secret was found in ${e.canarySeen.join(", ")}`);
    walls.push(
      decideWall("environment", {
        attempts: attempts,
        expected: 3,
        breaches: breaches,
        heldNote: "the host's canary secret is in no sandbox process's environment, report, log or file",
      }),
    );
  }
  {
    const breaches: string[] = [];
    if (!e.killVictimAlive) breaches.push("the host's victim process was killed");
    if (e.ptraceVictimTracer) {
      breaches.push(`the host's victim process was traced by pid ${e.ptraceVictimTracer}`);
    }
    const visible = pickAttempts(report, "signal.host_pid_visible")[0];
    walls.push(
      decideWall("signals-ptrace", {
        attempts: pickAttempts(report, "signal.deno_kill", "signal.libc_"),
        expected: 3,
        breaches: breaches,
        heldNote: `the victims lived, untraced${
          visible?.succeeded ? " (the host's pid is visible)" : ", host pids invisible"
        }`,
      }),
    );
  }
  walls.push(modelProxyWall(report, e.modelProxy));
  walls.push(limitWall(
    "pids-limit",
    pickAttempts(report, "limits.pids")[0],
    e.agentProcesses.map((p) => p.pidsLimit),
    e.limits.pids,
    [
      ...noProcs,
      ...e.agentProcesses.filter((p) => (p.threads ?? 0) >= e.caps.threads)
        .map((p) => `${p.comm} (pid ${p.pid}) ran ${p.threads} threads`),
    ],
    "pids",
  ));
  {
    const killed = e.finalPhase?.startsWith("limits.memory") && (e.exit?.code !== 0);
    const attempt = pickAttempts(report, "limits.memory")[0];
    // Being killed while allocating is the limit holding.
    const asAttempt: Attempt | undefined = killed
      ? {
        id: "limits.memory",
        succeeded: false,
        detail: `the sandbox was stopped while allocating (${e.finalPhase}, exit ${JSON.stringify(e.exit)})`,
      }
      : attempt;
    walls.push(limitWall(
      "memory-limit",
      asAttempt,
      e.agentProcesses.map((p) => p.memoryLimitBytes === undefined ? undefined : p.memoryLimitBytes / MIB),
      e.limits.memoryMiB,
      noProcs,
      "MiB of memory",
    ));
  }
  {
    const attempt = pickAttempts(report, "limits.tmp_disk")[0];
    const breaches: string[] = [];
    if (e.tmpBytesVisible !== undefined && e.tmpBytesVisible >= e.caps.tmpBytes) {
      breaches.push(`the host sees ${e.tmpBytesVisible / MIB} MiB in the probe's /tmp file`);
    }
    walls.push(
      decideWall("tmp-disk", {
        attempts: attempt ? [attempt] : [],
        expected: 1,
        breaches: breaches,
        heldNote: "/tmp filled up before the cap",
      }),
    );
  }
  {
    const attempt = pickAttempts(report, "limits.workspace_disk")[0];
    const quota = e.workspaceQuota;
    const breaches: string[] = [];
    if (!quota.limited) {
      breaches.push(`/workspace is a plain host directory without a quota (${quota.reason})`);
    }
    if (e.workspaceBytes >= e.caps.workspaceBytes) {
      breaches.push(`the host sees ${e.workspaceBytes / MIB} MiB in the workspace file`);
    } else if (quota.limited && e.workspaceBytes > quota.bytes) {
      breaches.push(`the workspace file (${e.workspaceBytes} bytes) outgrew its ${quota.bytes}-byte volume`);
    }
    walls.push(
      decideWall("workspace-disk", {
        attempts: attempt ? [attempt] : [],
        expected: 1,
        breaches: breaches,
        heldNote: quota.limited
          ? `/workspace is a ${quota.bytes / MIB} MiB ext4 volume and filled up at ${
            Math.floor(e.workspaceBytes / MIB)
          } MiB, before the ${e.caps.workspaceBytes / MIB} MiB cap`
          : "/workspace filled up before the cap",
      }),
    );
  }
  return walls;
}

/**
 * A resource wall: the kernel must hold a limit no higher than the configured
 * one on every agent-side process, and the probe must have stopped short of its cap.
 */
function limitWall(
  name: string,
  attempt: Attempt | undefined,
  limits: (number | undefined)[],
  configured: number,
  extra: string[],
  unit: string,
): Wall {
  const breaches = [...extra];
  if (limits.length && limits.some((l) => l === undefined || l > configured)) {
    breaches.push(
      `no kernel limit of ${configured} ${unit} on the agent's processes (found ${
        limits.map((l) => l ?? "none").join(",")
      })`,
    );
  }
  return decideWall(name, {
    attempts: attempt ? [attempt] : [],
    expected: 1,
    breaches: breaches,
    heldNote: `kernel limit ${configured} ${unit} on the agent's processes`,
  });
}

/** Calls the probe makes on its own socket while claiming another identity. */
export const IDENTITY_CLAIMS = 5;

/**
 * `model-proxy-identity`: the probe neither reaches another session's proxy
 * socket (host path, guessed paths, procfs roots, listings) nor gets a call
 * booked to anyone but its own session while claiming another identity on
 * its own socket. The decoy socket's connection count and the proxy's own
 * records decide; the probe's identity calls only tell the host how many
 * calls to look for, so an unanswered or unrecorded one fails closed.
 */
function modelProxyWall(report: ProbeReport | undefined, m: ModelProxyEvidence): Wall {
  const claims = pickAttempts(report, "identity.");
  const answered = claims.filter((a) => typeof a.data?.status === "number");
  const own = m.callsBySession[m.ownSession] ?? 0;
  const breaches: string[] = [];
  if (m.decoyConnections) {
    breaches.push(`the other session's model socket accepted ${m.decoyConnections} connection(s)`);
  }
  for (const [session, calls] of Object.entries(m.callsBySession)) {
    if (session === m.ownSession || calls === 0) continue;
    breaches.push(
      `the proxy booked ${calls} call(s) to ${
        session === m.decoySession ? `the other session (${session})` : `session ${session}`
      }`,
    );
  }
  const through = claims.filter((a) => a.succeeded);
  if (through.length) breaches.push(`the probe says a claimed identity got through: ${summarize(through)}`);
  if (answered.length < IDENTITY_CLAIMS) {
    breaches.push(
      `only ${answered.length} of ${IDENTITY_CLAIMS} calls claiming another identity were answered on the ` +
        `probe's own socket, so attribution went untested (fail closed)${
          claims.length > answered.length ? `: ${summarize(claims.filter((a) => !answered.includes(a)))}` : ""
        }`,
    );
  }
  if (own < answered.length) {
    breaches.push(
      `the proxy booked ${own} call(s) to the probe's session, fewer than the ${answered.length} it answered there`,
    );
  }
  return decideWall("model-proxy-identity", {
    attempts: pickAttempts(report, "proxy."),
    expected: 8,
    breaches: breaches,
    heldNote:
      `no other session's model socket reached (${m.decoyConnections} connections); all ${own} call(s) on the ` +
      `probe's socket booked to its own session, ${answered.length} of them claiming the other's ` +
      "(session and agent-group headers, made-up credentials, forwarded headers, another Host; answered " +
      `${[...new Set(answered.map((a) => a.data?.status))].join(",")})`,
  });
}
