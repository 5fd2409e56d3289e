/**
 * A stand-in agent for isolator tests. It runs under the exact agent flags,
 * reads its key, opens its queues through the contract's sandbox side, and
 * answers every inbound row with one outbound row: a JSON report of what it
 * observed about its walls.
 *
 * Deno's permissions are checked where Deno checks them; the OS walls are
 * probed through libc, reached via libsqlcipher's own dependency scope, the
 * way a compromised agent holding `--allow-ffi=<libsqlcipher>` would.
 *
 * Usage: `probe.js --layout=<AgentLayout JSON>`. An inbound row's content may
 * be JSON `{"tcpPort": n}` to try a TCP connect to 127.0.0.1:n.
 *
 * @module
 */
import { parseSessionKeyFile } from "../../contract/cipher.ts";
import type { AgentLayout } from "../../contract/permissions.ts";
import { openInboundReader, openOutboundWriter } from "../../contract/queue/sandbox.ts";
import { DOORBELL, DOORBELL_SOCKET_NAME, LEASE_SOCKET_NAME } from "../../contract/sockets.ts";
import { jsonLogger } from "../../sandbox-agent/log.ts";
import { LeaseClient } from "../../sandbox-agent/loop/mod.ts";

const layoutArg = Deno.args.find((a) => a.startsWith("--layout="));
if (!layoutArg) throw new Error("probe: missing --layout=<json>");
const layout: AgentLayout = JSON.parse(layoutArg.slice("--layout=".length));

const libc = Deno.dlopen(layout.library, {
  copyIn: { name: "memcpy", parameters: ["buffer", "usize", "usize"], result: "usize" },
  strlen: { parameters: ["usize"], result: "usize" },
  errnoLocation: { name: "__errno_location", parameters: [], result: "usize" },
  getuid: { parameters: [], result: "u32" },
  getgid: { parameters: [], result: "u32" },
  gethostname: { parameters: ["buffer", "usize"], result: "i32" },
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  unlink: { parameters: ["buffer"], result: "i32" },
  personality: { parameters: ["u64"], result: "i32" },
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  ifNameindex: { name: "if_nameindex", parameters: [], result: "usize" },
}).symbols;

function copyOut(address: bigint, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  if (length > 0) libc.copyIn(bytes, address, BigInt(length));
  return bytes;
}

function cString(address: bigint): string {
  return address === 0n ? "" : new TextDecoder().decode(copyOut(address, Number(libc.strlen(address))));
}

// Deno grants pointer construction and reads only with an unscoped
// --allow-ffi. The contract's binding needs none (it copies through the
// library), so the probe only reports that the scope holds.
let pointerOpsDenied = false;
try {
  Deno.UnsafePointer.create(1n);
} catch {
  pointerOpsDenied = true;
}

const O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0o100, O_EXCL = 0o200;
const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  13: "EACCES",
  22: "EINVAL",
  30: "EROFS",
  38: "ENOSYS",
  97: "EAFNOSUPPORT",
  101: "ENETUNREACH",
  111: "ECONNREFUSED",
};

function errno(): string {
  const code = new Int32Array(copyOut(libc.errnoLocation(), 4).buffer)[0];
  return ERRNO_NAMES[code] ?? `errno ${code}`;
}

const z = (s: string) => new TextEncoder().encode(`${s}\0`);

/** "ok" when the OS lets us create `path` (then removes it), else the errno name. */
function osCreate(path: string): string {
  const fd = libc.open(z(path), O_WRONLY | O_CREAT | O_EXCL, 0o600);
  if (fd < 0) return errno();
  libc.close(fd);
  libc.unlink(z(path));
  return "ok";
}

/** "ok" when the OS opens `path` with `flags`, else the errno name. */
function osOpen(path: string, flags: number): string {
  const fd = libc.open(z(path), flags, 0);
  if (fd < 0) return errno();
  libc.close(fd);
  return "ok";
}

function osReadText(path: string): string {
  const fd = libc.open(z(path), O_RDONLY, 0);
  if (fd < 0) return "";
  const buf = new Uint8Array(16384);
  const n = Number(libc.read(fd, buf, BigInt(buf.length)));
  libc.close(fd);
  return new TextDecoder().decode(buf.subarray(0, Math.max(0, n)));
}

function interfaces(): string[] {
  const list = libc.ifNameindex();
  if (list === 0n) return [`error ${errno()}`];
  const names: string[] = [];
  for (let entry = list;; entry += 16n) {
    const view = new DataView(copyOut(entry, 16).buffer);
    if (view.getUint32(0, true) === 0) break;
    names.push(cString(view.getBigUint64(8, true)));
  }
  return names;
}

function tcpConnect(port: number): string {
  const fd = libc.socket(2, 1, 0);
  if (fd < 0) return errno();
  const addr = new Uint8Array(16);
  new DataView(addr.buffer).setUint16(0, 2, true);
  new DataView(addr.buffer).setUint16(2, port, false);
  addr.set([127, 0, 0, 1], 4);
  const rc = libc.connect(fd, addr, 16);
  const result = rc === 0 ? "ok" : errno();
  libc.close(fd);
  return result;
}

/** Connects to the host's doorbell socket through libc and rings it: "ok" or the errno name. */
function osDoorbell(): string {
  const fd = libc.socket(1, 1, 0);
  if (fd < 0) return errno();
  const addr = new Uint8Array(110);
  new DataView(addr.buffer).setUint16(0, 1, true);
  addr.set(new TextEncoder().encode(`${layout.socketDir}/${DOORBELL_SOCKET_NAME}`), 2);
  const rc = libc.connect(fd, addr, addr.length);
  const result = rc === 0 && libc.write(fd, new Uint8Array([DOORBELL.outbound]), 1n) === 1n ? "ok" : errno();
  libc.close(fd);
  return result;
}

/** The error's class name, or "allowed". */
function denoTry(fn: () => unknown): string {
  try {
    fn();
    return "allowed";
  } catch (err) {
    return err instanceof Error ? err.name : String(err);
  }
}

async function denoDoorbell(): Promise<string> {
  try {
    const conn = await Deno.connect({
      transport: "unix",
      path: `${layout.socketDir}/${DOORBELL_SOCKET_NAME}`,
    });
    await conn.write(new Uint8Array([DOORBELL.outbound]));
    conn.close();
    return "ok";
  } catch (err) {
    return err instanceof Error ? err.name : String(err);
  }
}

function observe() {
  const status = Object.fromEntries(
    osReadText("/proc/self/status").split("\n").map((l) => l.split(":\t"))
      .filter(([k]) => ["CapEff", "CapBnd", "NoNewPrivs", "Seccomp"].includes(k)),
  );
  const host = new Uint8Array(256);
  libc.gethostname(host, 256n);
  const probeFile = `${layout.workspace}/.probe-${crypto.randomUUID()}`;
  Deno.writeTextFileSync(probeFile, "probe");
  const fileUid = Deno.statSync(probeFile).uid;
  Deno.removeSync(probeFile);
  return {
    pointerOpsDenied,
    uid: libc.getuid(),
    gid: libc.getgid(),
    fileUid,
    hostname: new TextDecoder().decode(host.subarray(0, host.indexOf(0))),
    status,
    os: {
      createInRoot: osCreate(`/ironclaw-probe-${Deno.pid}`),
      createInInbound: osCreate(`${layout.inboundDir}/probe-${Deno.pid}`),
      openInboundForWrite: osOpen(`${layout.inboundDir}/inbound.db`, O_RDWR),
      createInOutbound: osCreate(`${layout.outboundDir}/probe-${Deno.pid}`),
      createInWorkspace: osCreate(`${layout.workspace}/probe-${Deno.pid}`),
      readEtcPasswd: osOpen("/etc/passwd", O_RDONLY),
      personalitySyscall: libc.personality(0xffffffffn) < 0 ? errno() : "ok",
      interfaces: interfaces(),
    },
    deno: {
      networkInterfaces: denoTry(() => Deno.networkInterfaces()),
      env: denoTry(() => Deno.env.get("PATH")),
      writeRoot: denoTry(() => Deno.writeTextFileSync("/ironclaw-probe", "x")),
      run: denoTry(() => new Deno.Command("/bin/true").outputSync()),
    },
  };
}

const opts = { library: layout.library, key: parseSessionKeyFile(Deno.readFileSync(layout.keyFile)) };
// Like the agent, every queue transaction (opens included) runs under the host's queue lease: under gVisor
// the host cannot see the sandbox's SQLite locks. Without a lease server it runs on those locks alone.
const lease = new LeaseClient(`${layout.socketDir}/${LEASE_SOCKET_NAME}`, jsonLogger(() => {}));
const { outbound, inbound } = await lease.run(() => ({
  outbound: openOutboundWriter(`${layout.outboundDir}/outbound.db`, opts),
  inbound: openInboundReader(`${layout.inboundDir}/inbound.db`, opts),
}));
const facts = observe();
const answered = new Set<string>();
while (true) {
  const pending = await lease.run(() => inbound.pendingMessages());
  for (const message of pending) {
    if (answered.has(message.id)) continue;
    answered.add(message.id);
    const asked = message.content.startsWith("{") ? JSON.parse(message.content) : {};
    const tcp = typeof asked.tcpPort === "number" ? tcpConnect(asked.tcpPort) : undefined;
    const doorbell = { os: osDoorbell(), deno: await denoDoorbell() };
    await lease.run(() => {
      outbound.writeMessageOut({
        id: `re_${message.id}`,
        inReplyTo: message.id,
        kind: "chat",
        content: JSON.stringify({ ...facts, tcp, doorbell }),
      });
      outbound.markCompleted([message.id]);
    });
  }
  await new Promise((resolve) => setTimeout(resolve, 20));
}
