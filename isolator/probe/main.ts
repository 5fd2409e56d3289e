/**
 * The adversarial probe: a stand-in for a fully compromised agent. The
 * isolator launches it exactly like the real agent (same bundle layout, same
 * permission flags, same mounts), and it tries every way out it knows, both
 * through Deno's APIs and around them through libc (reached via the scoped
 * FFI grant to libsqlcipher). Each attempt is recorded in a JSON report in
 * its outbound directory; successful attempts leave effects the host can see
 * (connections, datagrams, marker files, signals), because the host believes
 * effects, not the report.
 *
 * Against the model proxy it plays another session: it tries to reach that
 * session's socket, and on its own socket it claims that session's identity
 * (headers, made-up credentials, another Host). It cannot tell whose call
 * the proxy booked, so those attempts only say the proxy answered; the host
 * decides attribution from its own records.
 *
 * Order: quick attempts, then held resources (listening sockets, a ptrace
 * attachment, threads, disk), then a wait for the host's release file while
 * the host inspects, then memory exhaustion last (it may get the sandbox
 * killed, which is the wall holding).
 *
 * Usage: `main.js --layout=<AgentLayout JSON> --targets=<ProbeTargets JSON>`, or `--version` alone
 * (one line, exit 0), which the isolators' smoke check of a compiled probe runs.
 *
 * @module
 */
import type { AgentLayout } from "../../contract/permissions.ts";
import {
  CLAIM_SOCKET_NAME,
  EGRESS_SOCKET_NAME,
  MCP_SOCKET_NAME,
  MOCK_MODEL_HOST,
  MODEL_SOCKET_NAME,
} from "../../contract/sockets.ts";
import { errnoName, Libc, loopbackAddress, z } from "./libc.ts";
import {
  diskFillAttempt,
  MOUNT_WRITES,
  type ProbeReport,
  type ProbeTargets,
  releaseFileName,
  REPORT_FILE,
  TARGETS_FLAG,
} from "./report.ts";

const MIB = 1024 * 1024;

// The isolators' smoke check runs a compiled program alone with `--version` (isolator/plan.ts, smokeRun):
// an answer and exit 0 show that its runtime started under the sandbox's filter and limits.
if (Deno.args.length === 1 && Deno.args[0] === "--version") {
  console.log(`ironclaw-probe: the adversarial probe of ironclaw verify (Deno ${Deno.version.deno})`);
  Deno.exit(0);
}

function argument(name: string): string {
  const arg = Deno.args.find((a) => a.startsWith(`${name}=`));
  if (!arg) throw new Error(`probe: missing ${name}=<json>`);
  return arg.slice(name.length + 1);
}

const layout: AgentLayout = JSON.parse(argument("--layout"));
const targets: ProbeTargets = JSON.parse(argument(TARGETS_FLAG));
const libc = Libc.open(layout.library);
const marker = (what: string) => `${layout.outboundDir}/${what}-${targets.nonce}`;

const report: ProbeReport = {
  nonce: targets.nonce,
  phase: "start",
  pid: libc.raw.getpid(),
  uid: libc.raw.getuid(),
  attempts: [],
};

/** A spare writes nothing before its claim (`spare`): its progress is flushed only once claimed. */
let holdReport = false;

/** Writes the report aside and renames it into place, so the host never reads half a report. */
function flush(phase: string): void {
  report.phase = phase;
  if (holdReport) return;
  const path = `${layout.outboundDir}/${REPORT_FILE}`;
  Deno.writeTextFileSync(`${path}.tmp`, JSON.stringify(report));
  Deno.renameSync(`${path}.tmp`, path);
}

function record(id: string, succeeded: boolean, detail: string, data?: Record<string, unknown>): void {
  report.attempts.push({ id, succeeded, detail, ...(data ? { data } : {}) });
}

function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message.split("\n")[0]}` : String(err);
}

/** Runs `fn`; a throw is the attempt failing (the wall held, as far as the probe can tell). */
async function attempt(id: string, fn: () => Promise<string> | string): Promise<void> {
  flush(id);
  try {
    record(id, true, await fn());
  } catch (err) {
    record(id, false, errorText(err));
  }
}

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

class LibcError extends Error {
  override name = "LibcError";
}

function check(rc: number | bigint, what: string): void {
  if (Number(rc) < 0) throw new LibcError(`${what}: ${libc.errno()}`);
}

// --- network -----------------------------------------------------------------------------------

async function network(): Promise<void> {
  const { tcp, udp } = targets;
  await attempt("tcp.fetch", async () => {
    const res = await fetch(`http://127.0.0.1:${tcp.fetch}/`, { signal: AbortSignal.timeout(3000) });
    await res.body?.cancel();
    return `HTTP ${res.status}`;
  });
  await attempt("tcp.deno_connect", async () => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: tcp.denoConnect });
    await conn.write(z(targets.nonce));
    conn.close();
    return "connected";
  });
  await attempt("tcp.libc_connect", () => {
    const fd = libc.raw.socket(2, 1, 0);
    check(fd, "socket");
    try {
      check(libc.raw.connect(fd, loopbackAddress(tcp.libcConnect), 16), "connect");
      return "connected";
    } finally {
      libc.raw.close(fd);
    }
  });
  await attempt("tcp.after_permission_request", async () => {
    const status = await Deno.permissions.request({ name: "net", host: `127.0.0.1:${tcp.afterRequest}` });
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: tcp.afterRequest });
    conn.close();
    return `permission ${status.state}, connected`;
  });
  await attempt("udp.libc_sendto", () => {
    const fd = libc.raw.socket(2, 2, 0);
    check(fd, "socket");
    try {
      const payload = z(targets.nonce);
      check(
        libc.raw.sendto(fd, payload, BigInt(payload.length), 0, loopbackAddress(udp.datagram), 16),
        "sendto",
      );
      return "datagram sent";
    } finally {
      libc.raw.close(fd);
    }
  });
  await attempt("dns.host_nameserver", async () => {
    const answer = await Deno.resolveDns(`${targets.nonce}.ironclaw.invalid`, "A", {
      nameServer: { ipAddr: "127.0.0.1", port: udp.dns },
      signal: AbortSignal.timeout(3000),
    });
    return `resolved ${answer.join(",")}`;
  });
  await attempt("dns.system_resolver", async () => {
    const answer = await Deno.resolveDns("example.com", "A", { signal: AbortSignal.timeout(3000) });
    return `resolved ${answer.join(",")}`;
  });
}

/** Listening sockets, held open until the release so the host can try to reach them. */
const held: { close(): void }[] = [];

async function listeners(): Promise<void> {
  await attempt("listen.deno", () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    held.push(listener);
    return `listening on port ${(listener.addr as Deno.NetAddr).port}`;
  });
  const data: Record<string, unknown> = {};
  await attempt("listen.libc", () => {
    const fd = libc.raw.socket(2, 1, 0);
    check(fd, "socket");
    held.push({ close: () => libc.raw.close(fd) });
    check(libc.raw.bind(fd, loopbackAddress(0), 16), "bind");
    check(libc.raw.listen(fd, 16), "listen");
    const addr = new Uint8Array(16);
    const len = new Uint32Array([16]);
    check(libc.raw.getsockname(fd, addr, new Uint8Array(len.buffer)), "getsockname");
    data.port = new DataView(addr.buffer).getUint16(2, false);
    return `listening on port ${data.port}`;
  });
  const last = report.attempts.at(-1)!;
  if (last.succeeded) last.data = data;
  const denoListen = report.attempts.find((a) => a.id === "listen.deno")!;
  if (denoListen.succeeded) denoListen.data = { port: Number(denoListen.detail.replace(/\D+/g, "")) };
}

async function interfaces(): Promise<void> {
  const others = (names: string[]) => names.filter((n) => n !== "lo");
  const verdict = (names: string[]) => {
    const extra = others(names);
    if (extra.length) return extra;
    throw new Error(`only ${names.length ? names.join(",") : "no interfaces"}`);
  };
  await attempt(
    "ifaces.deno",
    () => `sees ${verdict(Deno.networkInterfaces().map((i) => i.name)).join(",")}`,
  );
  await attempt("ifaces.if_nameindex", () => {
    const list = libc.interfaceNames();
    if (!list.ok) throw new LibcError(list.error);
    return `sees ${verdict(list.names).join(",")}`;
  });
  await attempt("ifaces.proc_net_dev", () => {
    const read = libc.readFile("/proc/net/dev");
    if (!read.ok) throw new LibcError(read.error);
    const names = new TextDecoder().decode(read.bytes).split("\n").slice(2)
      .map((l) => l.split(":")[0].trim()).filter(Boolean);
    return `sees ${verdict(names).join(",")}`;
  });
  await attempt("ifaces.sys_class_net", () => {
    const list = libc.listDir("/sys/class/net");
    if (!list.ok) throw new LibcError(list.error);
    return `sees ${verdict(list.names).join(",")}`;
  });
}

// --- files -------------------------------------------------------------------------------------

async function hostFiles(): Promise<void> {
  const paths = new Set<string>(["/etc/shadow", ...targets.readTargets]);
  // The host's root through procfs, when its pid is visible.
  for (const t of targets.readTargets) paths.add(`/proc/${targets.hostPid}/root${t}`);
  paths.add(`/proc/${targets.hostPid}/root/etc/shadow`);
  for (const path of paths) await readBoth("", path);
}

/** Reads `path` through Deno and through libc, as attempts `<prefix>read.deno:<path>` and `<prefix>read.libc:<path>`. */
async function readBoth(prefix: string, path: string): Promise<void> {
  await attempt(`${prefix}read.deno:${path}`, async () => {
    const bytes = Deno.readFileSync(path);
    return `read ${bytes.length} bytes sha256 ${await sha256Hex(bytes)}`;
  });
  await attempt(`${prefix}read.libc:${path}`, async () => {
    const read = libc.readFile(path);
    if (!read.ok) throw new LibcError(read.error);
    return `read ${read.bytes.length} bytes sha256 ${await sha256Hex(read.bytes as Uint8Array<ArrayBuffer>)}`;
  });
}

const JUNK = new TextEncoder().encode("\n// ironclaw-probe was here\n");

async function writes(): Promise<void> {
  const inbound = `${layout.inboundDir}/inbound.db`;
  await attempt("inbound.deno_write", () => {
    using file = Deno.openSync(inbound, { write: true, append: true });
    file.writeSync(JUNK);
    return "appended to inbound.db";
  });
  await attempt("inbound.libc_write", () => {
    const out = libc.appendFile(inbound, JUNK);
    if (!out.ok) throw new LibcError(out.error);
    return "appended to inbound.db";
  });
  await attempt("inbound.libc_create", () => {
    const out = libc.appendFile(`${layout.inboundDir}/probe-${targets.nonce}`, JUNK, true);
    if (!out.ok) throw new LibcError(out.error);
    return "created a file beside inbound.db";
  });
  const rootFile = `/ironclaw-probe-${targets.nonce}`;
  await attempt("rootfs.deno_write", () => {
    Deno.writeTextFileSync(`${rootFile}-deno`, "x");
    return `created ${rootFile}-deno`;
  });
  await attempt("rootfs.libc_create", () => {
    const out = libc.appendFile(rootFile, JUNK, true);
    if (!out.ok) throw new LibcError(out.error);
    return `created ${rootFile}`;
  });
  const program = targets.program ?? new URL(Deno.mainModule).pathname;
  await attempt("program.deno_write", () => {
    using file = Deno.openSync(program, { write: true, append: true });
    file.writeSync(JUNK);
    return `appended to ${program}`;
  });
  await attempt("program.libc_write", () => {
    const out = libc.appendFile(program, JUNK);
    if (!out.ok) throw new LibcError(out.error);
    return `appended to ${program}`;
  });
  await attempt("config.key_deno_write", () => {
    Deno.writeTextFileSync(layout.keyFile, "0".repeat(64));
    return "overwrote the session key file";
  });
  await attempt("config.key_libc_write", () => {
    const out = libc.appendFile(layout.keyFile, JUNK);
    if (!out.ok) throw new LibcError(out.error);
    return "appended to the session key file";
  });
  await attempt("config.key_chmod", () => {
    check(libc.raw.chmod(z(layout.keyFile), 0o666), "chmod");
    return "made the session key file world-writable";
  });
  await attempt("config.permission_request", async () => {
    const asked: Deno.PermissionDescriptor[] = [
      { name: "run" },
      { name: "write", path: "/" },
      { name: "read", path: "/" },
      { name: "env" },
      { name: "ffi" },
      { name: "sys" },
    ];
    const granted: string[] = [];
    for (const d of asked) if ((await Deno.permissions.request(d)).state === "granted") granted.push(d.name);
    // A grant is only real if it works: try to use the write grant on the key file.
    Deno.writeTextFileSync(layout.keyFile, "1".repeat(64));
    return `granted ${granted.join(",") || "nothing"}, and the key file was overwritten`;
  });
}

/** Reads `path` through Deno, then through libc, each its own attempt under `prefix`. */
async function readBothWays(prefix: string, path: string): Promise<void> {
  await attempt(`${prefix}.deno:${path}`, async () => {
    const bytes = Deno.readFileSync(path);
    return `read ${bytes.length} bytes sha256 ${await sha256Hex(bytes)}`;
  });
  await attempt(`${prefix}.libc:${path}`, async () => {
    const read = libc.readFile(path);
    if (!read.ok) throw new LibcError(read.error);
    return `read ${read.bytes.length} bytes sha256 ${await sha256Hex(read.bytes as Uint8Array<ArrayBuffer>)}`;
  });
}

/** The attempts to change a read-only mount, through Deno and around it through libc (see {@link mountWalls}). */
function mountWrites(file: string, fresh: string): Record<(typeof MOUNT_WRITES)[number], () => string> {
  const libcOk = (out: { ok: true } | { ok: false; error: string }, what: string) => {
    if (!out.ok) throw new LibcError(out.error);
    return what;
  };
  return {
    deno_append: () => {
      using handle = Deno.openSync(file, { write: true, append: true });
      handle.writeSync(JUNK);
      return `appended to ${file}`;
    },
    deno_truncate: () => (Deno.truncateSync(file, 0), `truncated ${file}`),
    deno_create: () => (Deno.writeTextFileSync(`${fresh}-deno`, "x"), `created ${fresh}-deno`),
    deno_mkdir: () => (Deno.mkdirSync(`${fresh}-dir`), `made ${fresh}-dir`),
    deno_rename: () => (Deno.renameSync(file, `${fresh}-moved`), `renamed ${file}`),
    deno_symlink: () => (Deno.symlinkSync("/", `${fresh}-link`), `planted ${fresh}-link`),
    libc_append: () => libcOk(libc.appendFile(file, JUNK), `appended to ${file}`),
    libc_create: () => libcOk(libc.appendFile(`${fresh}-libc`, JUNK, true), `created ${fresh}-libc`),
    libc_chmod: () => (check(libc.raw.chmod(z(file), 0o666), "chmod"), `made ${file} world-writable`),
    libc_unlink: () => (check(libc.raw.unlink(z(file)), "unlink"), `unlinked ${file}`),
  };
}

/**
 * A read-only mount: the control read of its file (which must work, or
 * nothing is proven), every write, then every escape path to the host's secret.
 */
async function mountWalls(): Promise<void> {
  const mount = targets.mount;
  if (!mount) return;
  await attempt("mount.control.read", async () => {
    const bytes = Deno.readFileSync(`${mount.path}/${mount.file}`);
    return `read ${bytes.length} bytes sha256 ${await sha256Hex(bytes)}`;
  });
  const writes = mountWrites(`${mount.path}/${mount.file}`, `${mount.path}/ironclaw-probe-${targets.nonce}`);
  for (const id of MOUNT_WRITES) await attempt(`mount.write.${id}`, writes[id]);
  for (const path of mount.escapes) await readBothWays("mount.escape", path);
}

// --- processes, FFI, environment, signals ------------------------------------------------------

async function processes(): Promise<void> {
  await attempt("spawn.deno_command", async () => {
    const out = await new Deno.Command("/bin/sh", {
      args: ["-c", `echo spawned > ${marker("spawn-deno")}`],
    }).output();
    return `ran /bin/sh (exit ${out.code})`;
  });
  await attempt("spawn.libc_posix_spawn", async () => {
    const tried: string[] = [];
    for (const program of targets.spawnCandidates) {
      const pid = new Int32Array(1);
      const rc = libc.raw.posixSpawn(
        new Uint8Array(pid.buffer),
        z(program),
        0n,
        0n,
        libc.cStringArray(spawnArgv(program, "spawn-libc")),
        libc.cStringArray(SPAWN_ENV),
      );
      if (rc !== 0) {
        tried.push(`${program}: ${errnoName(rc)}`);
        continue;
      }
      return `started ${program} (pid ${pid[0]}, wait status ${await reap(pid[0])})`;
    }
    throw new LibcError(tried.join("; "));
  });
  await attempt("spawn.libc_fork", async () => {
    // Everything the child needs is built before the fork: the child only calls execve and _exit.
    const program = targets.spawnCandidates.find((p) => /deno$/.test(p)) ?? targets.spawnCandidates[0];
    const path = z(program);
    const argv = libc.cStringArray(spawnArgv(program, "spawn-fork"));
    const envp = libc.cStringArray(SPAWN_ENV);
    const pid = libc.raw.fork();
    if (pid === 0) {
      libc.raw.execve(path, argv, envp);
      libc.raw.exit(127);
    }
    if (pid < 0) throw new LibcError(`fork: ${libc.errno()}`);
    return `forked pid ${pid}, which execs ${program} (wait status ${await reap(pid)})`;
  });
  await attempt("spawn.libc_execve", () => {
    // Replacing the probe would end the battery: a path that does not exist tells whether execve reaches
    // the kernel at all (ENOENT: it looked the path up, so an existing program would have replaced the agent).
    const missing = `/ironclaw-probe-no-such-program-${targets.nonce}`;
    const rc = libc.raw.execve(z(missing), libc.cStringArray([missing]), libc.cStringArray([]));
    const errno = libc.errno();
    if (rc === 0) return "execve returned 0";
    if (errno === "ENOENT") {
      return `execve reached the kernel (${errno} for ${missing}): the agent can replace itself`;
    }
    throw new LibcError(`execve: ${errno}`);
  });
}

const SPAWN_ENV = ["DENO_NO_UPDATE_CHECK=1", "NO_COLOR=1", "DENO_DIR=/tmp/ironclaw-probe-deno"];

/** The command line that leaves marker `what` when `program` (Deno or a shell) runs. */
function spawnArgv(program: string, what: string): string[] {
  return /deno$/.test(program)
    ? [program, "eval", `Deno.writeTextFileSync(${JSON.stringify(marker(what))}, "spawned")`]
    : [program, "-c", `echo spawned > ${marker(what)}`];
}

/** Reaps a started child (WNOHANG polling, at most 10 s; then SIGKILL), returning its wait status. */
async function reap(pid: number): Promise<number> {
  const status = new Int32Array(1);
  for (let i = 0; i < 500; i++) {
    if (libc.raw.waitpid(pid, new Uint8Array(status.buffer), 1) !== 0) return status[0];
    await new Promise((r) => setTimeout(r, 20));
  }
  libc.raw.kill(pid, 9);
  libc.raw.waitpid(pid, new Uint8Array(status.buffer), 0);
  return status[0];
}

async function ffi(): Promise<void> {
  for (
    const [id, library] of [["ffi.dlopen_libc_name", "libc.so.6"], [
      "ffi.dlopen_libc_path",
      "/lib/x86_64-linux-gnu/libc.so.6",
    ]] as const
  ) {
    await attempt(id, () => {
      const other = Deno.dlopen(library, {
        open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
        close: { parameters: ["i32"], result: "i32" },
      });
      const fd = other.symbols.open(z(marker(id.replace(/\./g, "-"))), 0o101, 0o644);
      if (fd >= 0) other.symbols.close(fd);
      return `opened ${library} and called open() through it`;
    });
  }
  await attempt(
    "ffi.pointer_ops",
    () => `created pointer ${Deno.UnsafePointer.value(Deno.UnsafePointer.create(1n))}`,
  );
  // Not a wall (the scoped grant reaches libc, docs/contract.md 2026-11-26): leaves a marker so the
  // host can confirm the route the other attempts use.
  await attempt("ffi.libc_via_sqlcipher", () => {
    const out = libc.appendFile(marker("ffi-libc"), z(String(libc.raw.getpid())), true);
    if (!out.ok) throw new LibcError(out.error);
    return `getpid ${libc.raw.getpid()} and open() through libsqlcipher's dependency scope`;
  });
}

function canaryIn(text: string): string | undefined {
  for (const entry of text.split("\0")) {
    if (entry.startsWith(`${targets.canaryName}=`)) return entry.slice(targets.canaryName.length + 1);
  }
  return undefined;
}

async function environment(): Promise<void> {
  await attempt("env.deno", () => {
    const env = Deno.env.toObject();
    const canary = env[targets.canaryName];
    return `read ${Object.keys(env).length} variables${canary ? `, canary ${canary}` : ""}`;
  });
  await attempt("env.deno_read_proc", () => {
    const text = Deno.readTextFileSync("/proc/self/environ");
    const canary = canaryIn(text);
    return `read /proc/self/environ${canary ? `, canary ${canary}` : ""}`;
  });
  const pids = ["self", "1", targets.hostPid, Deno.ppid, targets.victims.kill, targets.victims.ptrace];
  for (const pid of new Set(pids.map(String))) {
    const path = `/proc/${pid}/environ`;
    await attempt(`env.libc:${path}`, () => {
      const read = libc.readFile(path);
      if (!read.ok) throw new LibcError(read.error);
      const canary = canaryIn(new TextDecoder().decode(read.bytes));
      if (canary === undefined) throw new Error(`readable, ${read.bytes.length} bytes, no canary`);
      return `canary ${canary}`;
    });
  }
}

async function signals(): Promise<void> {
  await attempt("signal.deno_kill", () => {
    Deno.kill(targets.victims.kill, "SIGKILL");
    return `killed host pid ${targets.victims.kill}`;
  });
  await attempt("signal.libc_kill", () => {
    check(libc.raw.kill(targets.victims.kill, 9), "kill");
    return `killed host pid ${targets.victims.kill}`;
  });
  await attempt("signal.libc_ptrace", () => {
    // PTRACE_ATTACH; left attached until the probe exits so the host can see the tracer.
    check(libc.raw.ptrace(16n, targets.victims.ptrace, 0n, 0n), "ptrace");
    return `attached to host pid ${targets.victims.ptrace}`;
  });
  await attempt("signal.host_pid_visible", () => {
    check(libc.raw.kill(targets.hostPid, 0), "kill(0)");
    return `host pid ${targets.hostPid} exists in the probe's pid namespace`;
  });
}

// --- the model proxy ---------------------------------------------------------------------------

/**
 * A raw HTTP/1.1 request for the mock model's Messages API, so every header
 * (Host included) is exactly what the probe chooses; its body claims the
 * other session too. The target is in absolute form, as the agent sends it
 * (the proxy reads the upstream from it), so the call is a real model call
 * whatever `host` header rides along.
 */
function modelRequest(host = MOCK_MODEL_HOST, headers: Record<string, string> = {}): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify({
    model: "mock",
    max_tokens: 8,
    metadata: { user_id: targets.modelProxy.decoySession },
    messages: [{ role: "user", content: `ironclaw-probe ${targets.nonce}` }],
  }));
  const head = [
    `POST http://${MOCK_MODEL_HOST}/v1/messages HTTP/1.1`,
    `host: ${host}`,
    "content-type: application/json",
    `content-length: ${body.length}`,
    "connection: close",
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ].join("\r\n");
  const text = new TextEncoder().encode(`${head}\r\n\r\n`);
  const out = new Uint8Array(text.length + body.length);
  out.set(text);
  out.set(body, text.length);
  return out;
}

/** The status code of an HTTP/1.x response, or undefined when there is none. */
function statusOf(response: Uint8Array): number | undefined {
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(new TextDecoder().decode(response.subarray(0, 32)));
  return match ? Number(match[1]) : undefined;
}

/** Sends `request` over `conn` and reads the answer to its end (at most 3 s; the proxy closes after it). */
async function roundTrip(conn: Deno.Conn, request: Uint8Array): Promise<Uint8Array> {
  for (let sent = 0; sent < request.length;) sent += await conn.write(request.subarray(sent));
  const chunks: Uint8Array[] = [];
  // Closing the connection is the only way to cut a pending read short.
  const timer = setTimeout(() => conn.close(), 3000);
  try {
    for (;;) {
      const buf = new Uint8Array(65536);
      const n = await conn.read(buf);
      if (n === null) break;
      chunks.push(buf.subarray(0, n));
    }
  } catch {
    // timed out or reset: what arrived is the answer
  } finally {
    clearTimeout(timer);
  }
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) (bytes.set(c, at), at += c.length);
  return bytes;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed by the read timeout
  }
}

/** What connecting to another session's socket got: a connection is the breach, an answer shows its cost. */
function reached(response: Uint8Array): string {
  const status = statusOf(response);
  return `connected; ${status ? `that session's proxy answered HTTP ${status}` : "no HTTP answer"}`;
}

function libcReach(path: string): string {
  const out = libc.connectUnix(path);
  if (!out.ok) throw new LibcError(out.error);
  try {
    return reached(libc.exchange(out.fd, modelRequest()));
  } finally {
    libc.raw.close(out.fd);
  }
}

const parentOf = (path: string) => path.replace(/\/+[^/]*\/*$/, "") || "/";
const nameOf = (path: string) => path.replace(/\/+$/, "").split("/").pop() ?? "";

async function modelProxy(): Promise<void> {
  const { decoySocket, decoySession, decoyAgentGroup } = targets.modelProxy;
  // (a) Another session's socket: by its host path, by the host's layout (session socket directories
  // side by side), through procfs roots, then whatever a listing of the socket directories' parents shows.
  const guesses = [
    decoySocket,
    `${layout.socketDir}/../${decoySession}/${MODEL_SOCKET_NAME}`,
    `/proc/${targets.hostPid}/root${decoySocket}`,
    `/proc/1/root${decoySocket}`,
  ];
  for (const path of guesses) {
    await attempt(`proxy.deno:${path}`, async () => {
      const conn = await Deno.connect({ transport: "unix", path });
      try {
        return reached(await roundTrip(conn, modelRequest()));
      } finally {
        closeQuietly(conn);
      }
    });
    await attempt(`proxy.libc:${path}`, () => libcReach(path));
  }
  const found = new Set<string>();
  for (const parent of new Set([parentOf(layout.socketDir), parentOf(parentOf(decoySocket))])) {
    const list = libc.listDir(parent);
    if (!list.ok) continue;
    for (const name of list.names) {
      const path = `${parent}/${name}/${MODEL_SOCKET_NAME}`;
      if (name !== nameOf(layout.socketDir) && !guesses.includes(path)) found.add(path);
    }
  }
  for (const path of found) await attempt(`proxy.found_libc:${path}`, () => libcReach(path));

  // (b) Its own socket, claiming to be the other session. The proxy's answer cannot say whose call it
  // booked, so these are never reported as getting through: the host's records decide.
  const madeUp = `sk-ironclaw-probe-${targets.nonce}`;
  const claims: [string, string, Record<string, string>][] = [
    ["identity.session_header", MOCK_MODEL_HOST, {
      "x-ironclaw-session": decoySession,
      "x-ironclaw-session-id": decoySession,
      "x-session-id": decoySession,
    }],
    ["identity.agent_group_header", MOCK_MODEL_HOST, {
      "x-ironclaw-agent-group": decoyAgentGroup,
      "x-agent-group-id": decoyAgentGroup,
    }],
    ["identity.credentials", MOCK_MODEL_HOST, {
      authorization: `Bearer ${madeUp}`,
      "x-api-key": madeUp,
      "proxy-authorization": `Basic ${btoa(`${decoySession}:${madeUp}`)}`,
      cookie: `session=${decoySession}`,
    }],
    ["identity.forwarded", MOCK_MODEL_HOST, {
      forwarded: `for="unix:${decoySocket}";host=${MOCK_MODEL_HOST}`,
      "x-forwarded-for": "127.0.0.1",
      "x-real-ip": "127.0.0.1",
      "x-forwarded-host": `${decoySession}.${MOCK_MODEL_HOST}`,
    }],
    ["identity.host", `${decoySession}.${MOCK_MODEL_HOST}`, {}],
  ];
  for (const [id, host, headers] of claims) {
    flush(id);
    const claimed = [...Object.keys(headers), "host"].join(", ");
    try {
      const conn = await Deno.connect({
        transport: "unix",
        path: `${layout.socketDir}/${MODEL_SOCKET_NAME}`,
      });
      let status: number | undefined;
      try {
        status = statusOf(await roundTrip(conn, modelRequest(host, headers)));
      } finally {
        closeQuietly(conn);
      }
      if (status === undefined) throw new Error("the own proxy gave no HTTP answer");
      record(
        id,
        false,
        `own proxy answered HTTP ${status} to a call claiming ${claimed}; whose call it booked is the host's to say`,
        { status },
      );
    } catch (err) {
      record(id, false, errorText(err));
    }
  }
}

// --- resources ---------------------------------------------------------------------------------

const threads: bigint[] = [];

/** A host broker's socket and the host name it is addressed by. */
const EGRESS = { socket: EGRESS_SOCKET_NAME, host: "egress.ironclaw.internal" };
const MCP = { socket: MCP_SOCKET_NAME, host: "mcp.ironclaw.internal" };

/** One call to a session's broker (a JSON POST, or a GET without `body`): the status and the body. */
async function brokerCall(
  at: { socket: string; host: string; path: string },
  body?: unknown,
): Promise<{ status?: number; text: string }> {
  const json = body === undefined ? "" : JSON.stringify(body);
  const request = `${body === undefined ? "GET" : "POST"} http://${at.host}${at.path} HTTP/1.1\r\n` +
    `host: ${at.host}\r\ncontent-type: application/json\r\n` +
    `content-length: ${new TextEncoder().encode(json).length}\r\nconnection: close\r\n\r\n${json}`;
  const conn = await Deno.connect({ transport: "unix", path: `${layout.socketDir}/${at.socket}` });
  try {
    const answer = await roundTrip(conn, new TextEncoder().encode(request));
    const text = new TextDecoder().decode(answer);
    return { status: statusOf(answer), text: text.slice(text.indexOf("\r\n\r\n") + 4) };
  } finally {
    closeQuietly(conn);
  }
}

async function egressBroker(): Promise<void> {
  const egress = targets.egress;
  if (!egress) return;
  // (a) Server-side request forgery: the broker must fetch none of these, however spelled.
  for (const url of egress.ssrfUrls) {
    await attempt(`egress.ssrf:${url}`, async () => {
      const { status, text } = await brokerCall({ ...EGRESS, path: "/v1/fetch" }, { url });
      if (status !== 200) throw new Error(`HTTP ${status ?? "none"}: ${text.slice(0, 160)}`);
      return `the broker fetched it: ${text.slice(0, 160)}`;
    });
  }
  // (b) The granted secret: ask for the echo with headers of our own in its place. Getting an echo is
  // no breach by itself; the echo is reported whole, and the host looks for its secret in it.
  flush("egress.secret_echo");
  try {
    const { status, text } = await brokerCall({ ...EGRESS, path: "/v1/fetch" }, {
      url: egress.secretEchoUrl,
      headers: { "x-verify-secret": "probe-made", authorization: "Bearer probe-made" },
    });
    record("egress.secret_echo", false, `HTTP ${status ?? "none"}`, { echoed: text.slice(0, 8000) });
  } catch (err) {
    record("egress.secret_echo", false, errorText(err));
  }
}

async function mcpBroker(): Promise<void> {
  const mcp = targets.mcp;
  if (!mcp) return;
  // The control: the granted tool must answer, or the broker was not there to be tested.
  flush("mcp-control");
  await brokerCall({ ...MCP, path: "/v1/call" }, { ...mcp.granted, arguments: {} }).catch(() => {});
  // (a) The listing must hold the granted tool only.
  await attempt("mcp.list", async () => {
    const { status, text } = await brokerCall({ ...MCP, path: "/v1/tools" });
    const listed = (JSON.parse(text) as { tools?: { server: string; tool: string }[] }).tools ?? [];
    const extra = listed.filter((t) => mcp.refused.some((r) => r.server === t.server && r.tool === t.tool));
    if (extra.length === 0) throw new Error(`HTTP ${status}: listed only ${JSON.stringify(listed)}`);
    return `listed ${JSON.stringify(extra)}`;
  });
  // (b) Each refused tool, called by name on the wire as if it were listed.
  for (const ref of mcp.refused) {
    await attempt(`mcp.call:${ref.server}/${ref.tool}`, async () => {
      const { status, text } = await brokerCall({ ...MCP, path: "/v1/call" }, { ...ref, arguments: {} });
      if (status !== 200) throw new Error(`HTTP ${status ?? "none"}: ${text.slice(0, 160)}`);
      return `the broker called it: ${text.slice(0, 160)}`;
    });
  }
}

async function pids(): Promise<void> {
  await attempt("limits.pids", () => {
    // Threads count against the pids limit. Each runs libc's sleep(60): no JavaScript involved.
    const sleep = libc.raw.dlsym(0n, z("sleep"));
    if (sleep === 0n) throw new LibcError("dlsym(sleep) failed");
    let error = "";
    while (threads.length < targets.threadCap) {
      const tid = new BigUint64Array(1);
      const rc = libc.raw.pthreadCreate(new Uint8Array(tid.buffer), 0n, sleep, 60n);
      if (rc !== 0) {
        error = errnoName(rc);
        break;
      }
      threads.push(tid[0]);
    }
    if (error) {
      const reached = threads.length;
      // Give a few back: Deno dies when it cannot start a thread it needs (V8's workers, tokio's pool).
      for (const tid of threads.splice(-Math.min(16, threads.length))) {
        libc.raw.pthreadCancel(tid);
        libc.raw.pthreadJoin(tid, 0n);
      }
      throw new LibcError(`stopped after ${reached} threads: ${error}`);
    }
    return `holding ${threads.length} threads (the cap) without hitting a limit`;
  });
}

async function fill(id: string, capBytes: number, write: (chunk: Uint8Array) => void): Promise<void> {
  await attempt(id, () => {
    const chunk = new Uint8Array(MIB).fill(0x5a);
    let written = 0;
    try {
      while (written < capBytes) {
        write(chunk);
        written += chunk.length;
      }
    } catch (err) {
      throw new Error(`stopped after ${written / MIB} MiB: ${errorText(err)}`);
    }
    return `wrote ${written / MIB} MiB (the cap) without hitting a limit`;
  });
}

async function disk(): Promise<void> {
  const tmp = `/tmp/ironclaw-probe-${targets.nonce}`;
  await fill("limits.tmp_disk", targets.tmpCapBytes, (chunk) => {
    const out = libc.appendFile(tmp, chunk, true);
    if (!out.ok) throw new LibcError(out.error);
  });
  const workspaceFile = `${layout.workspace}/ironclaw-probe-${targets.nonce}`;
  await fill("limits.workspace_disk", targets.workspaceCapBytes, (chunk) => {
    Deno.writeFileSync(workspaceFile, chunk, { append: true });
  });
}

/** The read-write mounts in the probe's own mount table (`/proc/self/mountinfo`, read through libc). */
function writableMounts(): string[] {
  const info = libc.readFile("/proc/self/mountinfo");
  if (!info.ok) return [];
  return new TextDecoder().decode(info.bytes).split("\n").map((line) => line.split(" "))
    .filter((fields) => fields.length > 5 && fields[5].split(",").includes("rw"))
    .map((fields) => fields[4].replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8))))
    .filter((path) => !path.startsWith("/proc") && !path.startsWith("/sys") && !path.startsWith("/dev/pts"));
}

/**
 * Fills every writable path through libc (around Deno's permissions, as a
 * hostile agent with FFI would) while the host watches its free disk space;
 * each file is removed after its path is full.
 */
async function outDisk(): Promise<void> {
  if (!targets.diskFill) return;
  const own = [layout.outboundDir, layout.workspace, layout.memory, layout.socketDir];
  const paths = [...new Set([...own, ...targets.diskFill.paths, ...writableMounts()])];
  for (const path of paths) {
    const file = `${path}/ironclaw-fill-${targets.nonce}`;
    await fill(diskFillAttempt(path), targets.diskFill.bytesPerPath, (chunk) => {
      const out = libc.appendFile(file, chunk, true);
      if (!out.ok) throw new LibcError(out.error);
    });
    libc.raw.unlink(z(file));
  }
}

async function memory(): Promise<void> {
  await attempt("limits.memory", () => {
    const blocks: Uint8Array[] = [];
    let total = 0;
    try {
      while (total < targets.memoryCapBytes) {
        blocks.push(new Uint8Array(16 * MIB).fill(1));
        total += 16 * MIB;
        if (total % (64 * MIB) === 0) flush(`limits.memory@${total / MIB}MiB`);
      }
    } catch (err) {
      throw new Error(`stopped after ${total / MIB} MiB: ${errorText(err)}`);
    }
    return `allocated ${total / MIB} MiB (the cap) without hitting a limit`;
  });
}

async function waitForRelease(): Promise<void> {
  const release = `${layout.inboundDir}/${releaseFileName(targets.nonce)}`;
  const deadline = Date.now() + targets.holdMs;
  while (Date.now() < deadline) {
    try {
      Deno.statSync(release);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

// --- a warm spare ------------------------------------------------------------------------------

/** The spare run (see `ProbeTargets.spare`): nothing is written before the claim, so the host may claim it. */
async function spare(readTargets: string[]): Promise<void> {
  holdReport = true;
  await attempt("spare.before.key", () => {
    const bytes = Deno.readFileSync(layout.keyFile);
    if (bytes.length === 0) throw new Error("the key file is empty");
    return `read a key file of ${bytes.length} bytes`;
  });
  for (const dir of [layout.inboundDir, layout.outboundDir, layout.workspace]) {
    await attempt(`spare.before.list:${dir}`, () => {
      const names = [...Deno.readDirSync(dir)].map((e) => e.name);
      if (names.length === 0) throw new Error("empty");
      return `found ${names.slice(0, 5).join(", ")}`;
    });
  }
  for (const path of readTargets) await readBoth("spare.before.", path);
  // The claim: the host's one line, read up to its newline as the agent does (sandbox-agent/claim.ts). Never
  // wait for the hang-up: gVisor may not signal a host socket's close that follows its data at once.
  const conn = await Deno.connect({ transport: "unix", path: `${layout.socketDir}/${CLAIM_SOCKET_NAME}` });
  const chunks: number[] = [];
  const buffer = new Uint8Array(128);
  for (let n = await conn.read(buffer); n !== null && chunks.length < 256; n = await conn.read(buffer)) {
    chunks.push(...buffer.subarray(0, n));
    if (buffer.subarray(0, n).includes(0x0a)) break;
  }
  conn.close();
  const line = new TextDecoder().decode(new Uint8Array(chunks)).trim();
  const key = /^[0-9a-f]{64}$/.test(line)
    ? Uint8Array.from(line.match(/../g)!, (h) => parseInt(h, 16))
    : undefined;
  holdReport = false;
  record(
    "spare-control.claim",
    key !== undefined,
    key ? "a 32-byte key" : `no key (${line.length} characters)`,
    {
      keySha256: key ? await sha256Hex(key) : null,
    },
  );
  // After the claim, its own inbound queue is there (the control), and another session's files still are not.
  await attempt("spare-control.own-inbound", async () => {
    const bytes = Deno.readFileSync(`${layout.inboundDir}/inbound.db`);
    return `read ${bytes.length} bytes sha256 ${await sha256Hex(bytes)}`;
  });
  for (const path of readTargets) await readBoth("spare.after.", path);
  flush("spare-done");
}

if (targets.spare) {
  await spare(targets.spare.readTargets);
  Deno.exit(0);
}

await network();
await listeners();
await interfaces();
await hostFiles();
await writes();
await mountWalls();
await processes();
await ffi();
await environment();
await signals();
await modelProxy();
await egressBroker();
await mcpBroker();
await pids();
await disk();
await outDisk();
flush("hold");
await waitForRelease();
for (const h of held) h.close();
for (const tid of threads) libc.raw.pthreadCancel(tid);
// Wait until they are gone: until then they still count against the pids limit, and Deno, which needs a
// thread of its own now and then, would die for want of one.
for (const tid of threads) libc.raw.pthreadJoin(tid, 0n);
await memory();
flush("done");
Deno.exit(0);
