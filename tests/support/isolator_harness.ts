/**
 * Isolator test and benchmark harness: the bundled probe agent, a provisioned
 * session with its durable directories, and a round trip through the queues.
 *
 * @module
 */
import {
  openInboundWriter,
  openOutboundReader,
  provisionSession,
  type QueuePaths,
} from "../../contract/queue/host.ts";
import type { MessageOut } from "../../contract/rows.ts";
import { LEASE_SOCKET_NAME } from "../../contract/sockets.ts";
import type { IsolatorKind, LaunchSpec, SandboxHandle } from "../../isolator/mod.ts";
import { LeaseServer } from "../../src/doorbell/mod.ts";
import { prepareModuleInfo } from "../../src/sandbox/mod.ts";
import { QueueLease } from "../../src/session/mod.ts";
import { fixedKey, LIBRARY } from "./mod.ts";

const PROBE_SOURCE = new URL("../../isolator/testdata/probe_agent.ts", import.meta.url).pathname;
const SANDBOX_ID = 65532;

const bundles = new Map<string, Promise<string>>();

/**
 * `source` bundled into one sealed `.js` file with its module-info cache, the
 * way the isolator runs programs (once per process).
 */
export function bundledProgram(source: string): Promise<string> {
  let bundle = bundles.get(source);
  if (!bundle) {
    bundle = (async () => {
      const dir = Deno.makeTempDirSync({ prefix: "ironclaw-bundle-" });
      const out = `${dir}/${source.replace(/^.*\//, "").replace(/\.ts$/, ".js")}`;
      const result = await new Deno.Command(Deno.execPath(), {
        args: ["bundle", "--quiet", "--platform=deno", "-o", out, source],
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (!result.success) {
        throw new Error(`bundling ${source} failed: ${new TextDecoder().decode(result.stderr)}`);
      }
      // As in production: the host prepares the bundle's module-info cache, staged into each sandbox.
      await prepareModuleInfo(out);
      return out;
    })();
    bundles.set(source, bundle);
  }
  return bundle;
}

/** The probe agent, bundled. */
export function probeProgram(): Promise<string> {
  return bundledProgram(PROBE_SOURCE);
}

/** A program that only waits (two minutes), bundled the way the isolator runs programs. */
export async function idleProgram(): Promise<string> {
  const dir = Deno.makeTempDirSync({ prefix: "ironclaw-idle-" });
  Deno.writeTextFileSync(`${dir}/idle.ts`, "setTimeout(() => {}, 120_000);\n");
  return await bundledProgram(`${dir}/idle.ts`);
}

/** A provisioned session in a temporary directory, removed on dispose. */
export interface ProbeSession extends AsyncDisposable {
  root: string;
  paths: QueuePaths;
  spec: LaunchSpec;
  /** The session's queue lease, served on `lease.sock` in its socket directory (host reads take a turn). */
  lease: QueueLease;
}

/**
 * Provisions queues (owned by the sandbox uid), workspace, memory and socket
 * directories, for `program` (default: the probe agent).
 */
export async function probeSession(sessionId: string, program?: string): Promise<ProbeSession> {
  const root = Deno.makeTempDirSync({ prefix: "ironclaw-isolator-" });
  const key = fixedKey(0x11);
  const paths = provisionSession(`${root}/queues`, sessionId, {
    library: LIBRARY,
    key,
    sandboxUid: SANDBOX_ID,
    sandboxGid: SANDBOX_ID,
  });
  for (const dir of ["workspace", "memory", "sockets", "state"]) Deno.mkdirSync(`${root}/${dir}`);
  const lease = new QueueLease();
  const server = new LeaseServer(`${root}/sockets/${LEASE_SOCKET_NAME}`, lease);
  await server.start();
  return {
    root,
    paths,
    lease,
    spec: {
      sessionId,
      inboundDir: paths.inboundDir,
      outboundDir: paths.outboundDir,
      key: { bytes: key },
      workspaceDir: `${root}/workspace`,
      memoryDir: `${root}/memory`,
      socketDir: `${root}/sockets`,
      library: LIBRARY,
      denoPath: Deno.execPath(),
      program: program ?? await probeProgram(),
    },
    [Symbol.asyncDispose]: async () => {
      await server.close();
      lease.dispose();
      await Deno.remove(root, { recursive: true });
    },
  };
}

const QUEUE_OPTS = { library: LIBRARY, key: fixedKey(0x11) };

/** Appends an inbound row for the sandbox; returns its id. */
export function writeInbound(session: ProbeSession, content: string): string {
  const id = `in_${crypto.randomUUID()}`;
  using writer = openInboundWriter(session.paths.inbound, QUEUE_OPTS);
  writer.writeMessageIn({ id, kind: "chat", content });
  return id;
}

/** Waits for the sandbox's reply to inbound row `id`; fails with the log if the sandbox exits first. */
export async function awaitReply(
  session: ProbeSession,
  handle: SandboxHandle,
  id: string,
): Promise<MessageOut> {
  let exited = false;
  const exit = handle.exited.then((status) => {
    exited = true;
    return status;
  });
  while (!exited) {
    // In a host turn: under gVisor the agent's SQLite locks are invisible here, the lease is not.
    await session.lease.hold();
    {
      using reader = openOutboundReader(session.paths.outbound, QUEUE_OPTS);
      const reply = reader.dueMessages().messages.find((m) => m.inReplyTo === id);
      if (reply) return reply;
    }
    await Promise.race([exit, new Promise((resolve) => setTimeout(resolve, 5))]);
  }
  const status = await exit;
  const log = await Deno.readTextFile(handle.logPath).catch(() => "(no log)");
  throw new Error(`sandbox exited (${JSON.stringify(status)}) before answering:\n${log.slice(-4000)}`);
}

/** Writes an inbound row and returns the sandbox's reply. */
export function roundTrip(
  session: ProbeSession,
  handle: SandboxHandle,
  content: string,
): Promise<MessageOut> {
  return awaitReply(session, handle, writeInbound(session, content));
}

/**
 * Where key copies go: a private tmpfs directory, except for the process
 * backend, whose agent may not read `/dev/shm` (Deno grants `/dev` only with
 * `--allow-all`).
 */
export function keyRootFor(kind: IsolatorKind, dir: string): Promise<string> {
  return Deno.makeTempDir({ dir: kind === "process" ? dir : "/dev/shm", prefix: "ironclaw-keys-" });
}
