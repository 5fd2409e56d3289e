/**
 * The sandbox agent: the program the isolator launches (`ENTRYPOINTS.agent`)
 * under the contract's permission flags. It reads its key, opens inbound
 * read-only and outbound read-write (in a queue-lease turn, like every
 * queue transaction it runs), and runs the loop until SIGTERM or
 * SIGINT. A bad start (flags, key, queue) is one line on stderr and exit
 * code 2; a corruption streak ends the loop with exit code 1, and the host
 * respawns the agent.
 *
 * @module
 */
import { parseSessionKeyFile, type SessionKey } from "../contract/cipher.ts";
import { type AgentLayout, SANDBOX_LAYOUT } from "../contract/permissions.ts";
import {
  type InboundReader,
  openInboundReader,
  openOutboundWriter,
  type OutboundWriter,
} from "../contract/queue/sandbox.ts";
import { QUEUE_FILES } from "../contract/schema.ts";
import {
  DOORBELL_SOCKET_NAME,
  EGRESS_SOCKET_NAME,
  LEASE_SOCKET_NAME,
  MCP_SOCKET_NAME,
  MODEL_SOCKET_NAME,
} from "../contract/sockets.ts";
import { awaitClaim } from "./claim.ts";
import { rehearseAnswer, rehearseQueues } from "./rehearsal.ts";
import { type AgentConfig, ConfigError, parseArgs } from "./config.ts";
import { jsonLogger, type Logger } from "./log.ts";
import { AgentLoop, Doorbell, Heartbeat, LeaseClient, leased, systemPrompt } from "./loop/mod.ts";
import { createModelClient, hideDeniedEnvironment, unixSocketFetch } from "./model/mod.ts";
import { builtinRegistry, Jail, McpTools, Mounts } from "./tools/mod.ts";

/** A busy conversation's polls rewrite the heartbeat at most once a second (the host's stale limit is a minute). */
const HEARTBEAT_MIN_INTERVAL_MS = 1_000;

/** Exit code of a start that cannot work (bad flags, key or queue): respawning will not help. */
export const EXIT_BAD_START = 2;

/** A start-up failure, reported as one line. */
export class StartError extends Error {
  override name = "StartError";
}

/** Reads the session key file: 64 hex characters or 32 raw bytes. */
export function readSessionKey(path: string): SessionKey {
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(path);
  } catch (err) {
    throw new StartError(`cannot read the session key ${path}: ${reason(err)}`);
  }
  try {
    return parseSessionKeyFile(bytes);
  } catch (err) {
    throw new StartError(`bad session key ${path}: ${reason(err)}`);
  }
}

/** The agent's two queue handles. */
export interface Queues extends Disposable {
  inbound: InboundReader;
  outbound: OutboundWriter;
}

/**
 * Opens outbound (read-write) and inbound (read-only) with `key`; a failure
 * names the queue. `privateLocks`: the agent's locks are invisible to the
 * host (gVisor), see `--queue-locks`.
 */
export function openQueues(layout: AgentLayout, key: SessionKey, privateLocks = false): Queues {
  const opts = { library: layout.library, key };
  const outboundPath = `${layout.outboundDir}/${QUEUE_FILES.outbound}`;
  const inboundPath = `${layout.inboundDir}/${QUEUE_FILES.inbound}`;
  let outbound: OutboundWriter;
  try {
    outbound = openOutboundWriter(outboundPath, { ...opts, privateLocks });
  } catch (err) {
    throw new StartError(`cannot open the outbound queue: ${reason(err)}`);
  }
  let inbound: InboundReader;
  try {
    inbound = openInboundReader(inboundPath, { ...opts, privateLocks });
  } catch (err) {
    outbound.close();
    throw new StartError(`cannot open the inbound queue: ${reason(err)}`);
  }
  return {
    inbound,
    outbound,
    [Symbol.dispose]: () => {
      inbound.close();
      outbound.close();
    },
  };
}

/** Runs the agent until `signal` aborts. Throws {@link StartError} when it cannot start. */
export async function runAgent(config: AgentConfig, signal: AbortSignal): Promise<void> {
  const { layout } = config;
  // The SDKs read optional variables; under --deny-env they must see none rather than throw.
  hideDeniedEnvironment();
  const log = jsonLogger((line) => console.error(line));
  // A warm spare has no key file: its session, and so its key, arrives with the claim. Before it waits it
  // rehearses its first turn on throwaway data (rehearsal.ts): the first times a cold agent pays inside its
  // first turn (its SDK, the tools' schemas, SQLCipher), so its session's first turn need not.
  if (config.spare) {
    await rehearseAnswer({
      provider: config.provider,
      model: config.model,
      tools: builtinRegistry(config.enabledTools),
      log,
    });
    rehearseQueues(layout.outboundDir, {
      library: layout.library,
      log,
      privateLocks: config.privateQueueLocks,
    });
  }
  const key = config.spare
    ? await awaitClaim(layout.socketDir, { log, signal })
    : readSessionKey(layout.keyFile);
  if (key === undefined) {
    log.info("agent.spare_released", {});
    return;
  }
  // The host gone (its end of the doorbell closed) means a restarted host will launch this session anew.
  const hostGone = new AbortController();
  const doorbell = new Doorbell(`${layout.socketDir}/${DOORBELL_SOCKET_NAME}`, log, {
    onHostGone: () => hostGone.abort(),
  });
  // The host may ring with the lease (on its socket), and a release may carry the outbound ring: the doorbell's.
  const lease = new LeaseClient(`${layout.socketDir}/${LEASE_SOCKET_NAME}`, log, { bell: doorbell });
  try {
    // Opening reads both files (and may roll back an interrupted outbound write): a lease turn too.
    using queues = await lease.run(() => openQueues(layout, key, config.privateQueueLocks));
    await runLoop(config, queues, { lease, doorbell, log }, AbortSignal.any([signal, hostGone.signal]));
  } finally {
    lease.close();
  }
}

async function runLoop(
  config: AgentConfig,
  queues: Queues,
  { lease, doorbell, log }: { lease: LeaseClient; doorbell: Doorbell; log: Logger },
  signal: AbortSignal,
): Promise<void> {
  const { layout } = config;
  doorbell.start();
  // Kept connections to the host's sockets, closed when the loop ends.
  using model = createModelClient({
    provider: config.provider,
    model: config.model,
    socketPath: `${layout.socketDir}/${MODEL_SOCKET_NAME}`,
  });
  using egress = unixSocketFetch(`${layout.socketDir}/${EGRESS_SOCKET_NAME}`);
  using mcp = unixSocketFetch(`${layout.socketDir}/${MCP_SOCKET_NAME}`);
  try {
    const loop = new AgentLoop({
      // A queue call outside a lease turn throws rather than racing the host.
      inbound: leased(queues.inbound, lease, "inbound"),
      outbound: leased(queues.outbound, lease, "outbound"),
      lease,
      model,
      tools: builtinRegistry(config.enabledTools),
      systemPrompt: systemPrompt(config.persona, { mounts: config.mounts }),
      // Files are announced as /workspace/…, also where the process backend runs on host paths.
      workspace: new Jail(layout.workspace, { seenAs: SANDBOX_LAYOUT.workspace }),
      memory: new Jail(layout.memory, { seenAs: SANDBOX_LAYOUT.memory }),
      mounts: new Mounts(layout.mounts, config.mounts),
      persona: config.persona,
      egress,
      mcp: new McpTools(mcp),
      heartbeat: new Heartbeat(`${layout.outboundDir}/${QUEUE_FILES.heartbeat}`, {
        log,
        minIntervalMs: HEARTBEAT_MIN_INTERVAL_MS,
      }),
      log,
      pollMs: config.pollMs,
      doorbell,
    });
    log.info("agent.started", { provider: config.provider, poll_ms: config.pollMs });
    await loop.run(signal);
    log.info("agent.stopped");
  } finally {
    await doorbell.close();
  }
}

function reason(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0];
}

/** The program: runs the agent until SIGTERM or SIGINT, then exits. */
async function main(): Promise<never> {
  const stop = new AbortController();
  for (const sig of ["SIGTERM", "SIGINT"] as const) Deno.addSignalListener(sig, () => stop.abort());
  try {
    await runAgent(parseArgs(Deno.args), stop.signal);
    Deno.exit(0);
  } catch (err) {
    const bad = err instanceof ConfigError || err instanceof StartError;
    console.error(`ironclaw-agent: ${bad ? err.message : reason(err)}`);
    Deno.exit(bad ? EXIT_BAD_START : 1);
  }
}

// Not awaited at the top level: the module's evaluation completes at once and the program runs from the
// `main()` promise. (Deno writes a module's V8 code cache when its evaluation completes; in a sandbox that
// cache is never read again, which is why `AGENT_RUNTIME_FLAGS` in contract/permissions.ts turn it off.)
if (import.meta.main) void main();
