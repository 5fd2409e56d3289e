import assert from "node:assert/strict";
import type { Attempt, ProbeReport } from "../../isolator/mod.ts";
import { decideWalls, type Evidence, IDENTITY_CLAIMS } from "./walls.ts";

const MIB = 1024 * 1024;

/** Every attempt the probe makes, all refused. */
function refusedReport(): ProbeReport {
  const ids = [
    "tcp.fetch",
    "tcp.deno_connect",
    "tcp.libc_connect",
    "tcp.after_permission_request",
    "udp.libc_sendto",
    "dns.host_nameserver",
    "dns.system_resolver",
    "listen.deno",
    "listen.libc",
    "ifaces.deno",
    "ifaces.if_nameindex",
    "ifaces.proc_net_dev",
    "ifaces.sys_class_net",
    "read.libc:/etc/shadow",
    "inbound.deno_write",
    "inbound.libc_write",
    "inbound.libc_create",
    "rootfs.deno_write",
    "rootfs.libc_create",
    "program.deno_write",
    "program.libc_write",
    "config.key_deno_write",
    "config.key_libc_write",
    "config.key_chmod",
    "config.permission_request",
    "spawn.deno_command",
    "spawn.libc_posix_spawn",
    "spawn.libc_fork",
    "spawn.libc_execve",
    "ffi.dlopen_libc_name",
    "ffi.dlopen_libc_path",
    "env.deno",
    "env.deno_read_proc",
    "env.libc:/proc/self/environ",
    "signal.deno_kill",
    "signal.libc_kill",
    "signal.libc_ptrace",
    "proxy.deno:/tmp/v/run/sibling_n/model.sock",
    "proxy.libc:/tmp/v/run/sibling_n/model.sock",
    "proxy.deno:/run/ironclaw/sock/../sibling_n/model.sock",
    "proxy.libc:/run/ironclaw/sock/../sibling_n/model.sock",
    "proxy.deno:/proc/1234/root/tmp/v/run/sibling_n/model.sock",
    "proxy.libc:/proc/1234/root/tmp/v/run/sibling_n/model.sock",
    "proxy.deno:/proc/1/root/tmp/v/run/sibling_n/model.sock",
    "proxy.libc:/proc/1/root/tmp/v/run/sibling_n/model.sock",
    "limits.pids",
    "limits.tmp_disk",
    "limits.workspace_disk",
    "limits.memory",
  ];
  const attempts: Attempt[] = ids.map((id) => ({ id, succeeded: false, detail: "refused" }));
  // Calls on the probe's own socket claiming the other session: answered, never "through" by the probe's word.
  for (const kind of ["session_header", "agent_group_header", "credentials", "forwarded", "host"]) {
    attempts.push({
      id: `identity.${kind}`,
      succeeded: false,
      detail: "own proxy answered",
      data: { status: kind === "host" ? 403 : 200 },
    });
  }
  return { nonce: "n", phase: "done", pid: 1, uid: 65532, attempts };
}

function cleanEvidence(): Evidence {
  return {
    agentProcesses: [{
      pid: 10,
      comm: "exe",
      interfaces: ["lo"],
      threads: 12,
      memoryLimitBytes: 512 * MIB,
      pidsLimit: 256,
    }],
    tcpConnections: { fetch: 0, denoConnect: 0, libcConnect: 0, afterRequest: 0 },
    udpDatagrams: { datagram: 0, dns: 0 },
    hostNetnsListeners: 0,
    reachablePorts: [],
    targetsRead: [],
    secretHashesSeen: [],
    inboundChanged: false,
    inboundDirExtra: [],
    rootfsMarkers: [],
    programChanged: false,
    keyChanged: false,
    markers: ["ffi-libc"],
    canarySeen: [],
    killVictimAlive: true,
    ptraceVictimTracer: 0,
    workspaceBytes: 31 * MIB,
    workspaceQuota: { limited: true, bytes: 32 * MIB },
    modelProxy: {
      ownSession: "verify_n",
      decoySession: "sibling_n",
      decoyConnections: 0,
      callsBySession: { verify_n: IDENTITY_CLAIMS },
    },
    finalPhase: "done",
    exit: { code: 0 },
    limits: { memoryMiB: 512, pids: 256 },
    caps: { threads: 320, tmpBytes: 80 * MIB, workspaceBytes: 64 * MIB, memoryBytes: 768 * MIB },
  };
}

const fallen = (walls: ReturnType<typeof decideWalls>) => walls.filter((w) => !w.held).map((w) => w.name);

Deno.test("refused attempts and clean host evidence: every wall holds", () => {
  const walls = decideWalls(refusedReport(), cleanEvidence());
  assert.deepEqual(fallen(walls), []);
  assert.equal(walls.length, 18);
});

Deno.test("a probe that claims refusal is overruled by the host's evidence", () => {
  const cases: [Partial<Evidence>, string][] = [
    [{ tcpConnections: { fetch: 0, denoConnect: 0, libcConnect: 1, afterRequest: 0 } }, "network-tcp"],
    [{ udpDatagrams: { datagram: 0, dns: 1 } }, "network-udp-dns"],
    [{ hostNetnsListeners: 1 }, "network-listen"],
    [{
      agentProcesses: [{
        pid: 10,
        comm: "deno",
        interfaces: ["lo", "eth0"],
        pidsLimit: 256,
        memoryLimitBytes: 512 * MIB,
      }],
    }, "network-interfaces"],
    [{ targetsRead: ["/state/host-master.key"] }, "host-files"],
    [{ inboundChanged: true }, "inbound-readonly"],
    [{ rootfsMarkers: ["/ironclaw-probe-n"] }, "rootfs-readonly"],
    [{ programChanged: true }, "agent-program"],
    [{ keyChanged: true }, "own-config"],
    [{ markers: ["spawn-libc"] }, "processes"],
    [{ markers: ["ffi-dlopen_libc_name"] }, "ffi-scope"],
    [{ canarySeen: ["the environment of deno (pid 10)"] }, "environment"],
    [{ killVictimAlive: false }, "signals-ptrace"],
    [{ modelProxy: { ...cleanEvidence().modelProxy, decoyConnections: 1 } }, "model-proxy-identity"],
    [{ ptraceVictimTracer: 10 }, "signals-ptrace"],
    [{ tmpBytesVisible: 80 * MIB }, "tmp-disk"],
    [{ workspaceBytes: 64 * MIB }, "workspace-disk"],
    [{ workspaceBytes: 33 * MIB }, "workspace-disk"],
    [{ workspaceQuota: { limited: false, reason: "loop mounts need root" } }, "workspace-disk"],
  ];
  for (const [override, wall] of cases) {
    assert.deepEqual(fallen(decideWalls(refusedReport(), { ...cleanEvidence(), ...override })), [wall], wall);
  }
});

Deno.test("no kernel limit, unseen processes or missing attempts fail closed", () => {
  const noLimits = { ...cleanEvidence(), agentProcesses: [{ pid: 10, comm: "deno", interfaces: ["lo"] }] };
  assert.deepEqual(fallen(decideWalls(refusedReport(), noLimits)), ["pids-limit", "memory-limit"]);

  const unseen = fallen(decideWalls(refusedReport(), { ...cleanEvidence(), agentProcesses: [] }));
  for (const wall of ["network-listen", "network-interfaces", "environment", "pids-limit", "memory-limit"]) {
    assert.ok(unseen.includes(wall), wall);
  }

  const partial = refusedReport();
  partial.attempts = partial.attempts.filter((a) => !a.id.startsWith("tcp."));
  assert.deepEqual(fallen(decideWalls(partial, cleanEvidence())), ["network-tcp"]);
  assert.equal(fallen(decideWalls(undefined, cleanEvidence())).length, 18);
});

Deno.test("an attempt the probe reports as successful fells its wall even without host evidence", () => {
  const report = refusedReport();
  report.attempts.find((a) => a.id === "env.deno")!.succeeded = true;
  assert.deepEqual(fallen(decideWalls(report, cleanEvidence())), ["environment"]);
});

Deno.test("being killed while allocating is the memory limit holding; reaching the cap is not", () => {
  const report = refusedReport();
  report.attempts = report.attempts.filter((a) => a.id !== "limits.memory");
  const killed = { ...cleanEvidence(), finalPhase: "limits.memory@448MiB", exit: { code: 128 } };
  assert.deepEqual(fallen(decideWalls(report, killed)), []);
  report.attempts.push({ id: "limits.memory", succeeded: true, detail: "allocated 768 MiB" });
  assert.deepEqual(fallen(decideWalls(report, cleanEvidence())), ["memory-limit"]);
});

Deno.test("processes: a fork or an execve that reaches the kernel fells the wall; a missing attempt too", () => {
  for (const id of ["spawn.libc_fork", "spawn.libc_execve"]) {
    const report = refusedReport();
    report.attempts.find((a) => a.id === id)!.succeeded = true;
    assert.deepEqual(fallen(decideWalls(report, cleanEvidence())), ["processes"], id);
    const missing = refusedReport();
    missing.attempts = missing.attempts.filter((a) => a.id !== id);
    assert.deepEqual(fallen(decideWalls(missing, cleanEvidence())), ["processes"], `${id} missing`);
  }
  assert.deepEqual(fallen(decideWalls(refusedReport(), { ...cleanEvidence(), markers: ["spawn-fork"] })), [
    "processes",
  ]);
});

Deno.test("workspace-disk: a plain directory falls with its reason even when the probe stopped early", () => {
  const walls = decideWalls(refusedReport(), {
    ...cleanEvidence(),
    workspaceBytes: 0,
    workspaceQuota: { limited: false, reason: "loop mounts need root (running as uid 1000)" },
  });
  const wall = walls.find((w) => w.name === "workspace-disk")!;
  assert.equal(wall.held, false);
  assert.match(wall.detail, /plain host directory without a quota \(loop mounts need root/);
  const held = decideWalls(refusedReport(), cleanEvidence()).find((w) => w.name === "workspace-disk")!;
  assert.match(held.detail, /32 MiB ext4 volume and filled up at 31 MiB/);
});

Deno.test("model-proxy-identity: a connection to the other session's socket or a call booked to it falls", () => {
  const wall = (report: ProbeReport | undefined, modelProxy: Partial<Evidence["modelProxy"]>) => {
    const e = cleanEvidence();
    const walls = decideWalls(report, { ...e, modelProxy: { ...e.modelProxy, ...modelProxy } });
    assert.deepEqual(fallen(walls).filter((w) => w !== "model-proxy-identity"), []);
    return walls.find((w) => w.name === "model-proxy-identity")!;
  };
  const held = wall(refusedReport(), {});
  assert.equal(held.held, true);
  assert.match(held.detail, /all 5 call\(s\) on the probe's socket booked to its own session/);

  // A bare connection to the decoy's socket, though the probe claims every attempt was refused.
  const connected = wall(refusedReport(), { decoyConnections: 2 });
  assert.equal(connected.held, false);
  assert.match(connected.detail, /other session's model socket accepted 2 connection/);

  // The proxy honoured a claimed identity: one call booked to the decoy (the own count still adds up).
  const booked = wall(refusedReport(), { callsBySession: { verify_n: IDENTITY_CLAIMS, sibling_n: 1 } });
  assert.equal(booked.held, false);
  assert.match(booked.detail, /booked 1 call\(s\) to the other session \(sibling_n\)/);

  // …or to an identity of the probe's own making.
  const madeUp = wall(refusedReport(), { callsBySession: { verify_n: 4, "ses_made-up": 1 } });
  assert.equal(madeUp.held, false);
  assert.match(madeUp.detail, /to session ses_made-up/);
  assert.match(madeUp.detail, /booked 4 call\(s\) to the probe's session, fewer than the 5/);

  // A call the proxy answered but never recorded is no attribution at all.
  assert.equal(wall(refusedReport(), { callsBySession: { verify_n: 3 } }).held, false);
});

Deno.test("model-proxy-identity: the probe's word that it reached another socket fells it; silence fails closed", () => {
  const decide = (report: ProbeReport) =>
    decideWalls(report, cleanEvidence()).find((w) => w.name === "model-proxy-identity")!;

  const reached = refusedReport();
  reached.attempts.find((a) => a.id === "proxy.libc:/tmp/v/run/sibling_n/model.sock")!.succeeded = true;
  assert.equal(decide(reached).held, false);

  const missing = refusedReport();
  missing.attempts = missing.attempts.filter((a) => !a.id.startsWith("proxy.deno:"));
  assert.match(decide(missing).detail, /reported 4 of 8 attempts/);

  // Its own proxy never answered: attribution went untested, so the wall cannot be called held.
  const unanswered = refusedReport();
  for (const a of unanswered.attempts.filter((a) => a.id.startsWith("identity."))) {
    delete a.data;
    a.detail = "ConnectionRefused: connect";
  }
  const wall = decide(unanswered);
  assert.equal(wall.held, false);
  assert.match(wall.detail, /only 0 of 5 calls claiming another identity were answered/);
});
