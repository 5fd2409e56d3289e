/**
 * `ironclaw serve`: opens the control plane over its state directory, serves
 * the HTTP API until SIGINT, SIGTERM or SIGHUP, then shuts down cleanly.
 *
 * The HTTP stack is imported when `serve` runs, so client commands never
 * load it.
 *
 * @module
 */
import type { Command } from "commander";
import { recurrenceMs } from "../contract/time.ts";
import {
  API_TOKEN_FILE,
  ControlPlane,
  defaultStateDir,
  modelProxyOptions,
  readModelConfig,
  resolveApiToken,
} from "../src/control_plane/mod.ts";
import { AGENT_PROGRAM_ENV } from "../src/sandbox/mod.ts";
import { loadKubeConfig } from "../isolator/mod.ts";
import { configureLogging } from "../src/log/mod.ts";
import { DEFAULT_INBOUND_BACKLOG_CAP } from "../src/session/mod.ts";
import { chooseSearchBackends, type EgressSettings, parseAllowPrivate } from "../src/egress/mod.ts";
import { CliError } from "./errors.ts";
import {
  type CredentialSource,
  envCredentials,
  PROVIDER_CREDENTIAL_ENV,
  type UpstreamConfig,
} from "../src/model_proxy/mod.ts";
import { type CliIo, splitList } from "./output.ts";
import { namedProgram } from "./named_program.ts";
import { DEFAULT_FLOOD_LIMITS, type FloodLimits, parseMinRecurrence } from "../src/scheduling/mod.ts";
import { loadPriceFile, type PriceTable, UsageDay } from "../src/usage/mod.ts";
import { custodyError, describeCustody, serveCustody, withPassphraseFlag } from "./key_custody.ts";

/**
 * `--model-upstream HOST=URL`: requests an agent addresses to HOST (a
 * provider's, e.g. api.openai.com) go to URL instead, e.g. a local
 * OpenAI-compatible server; the HOST's key (OPENAI_API_KEY…) is still added
 * when set.
 */
export function modelUpstreamsOption(flags: ServeFlags): { upstreams: UpstreamConfig[] } {
  return {
    upstreams: (flags.modelUpstream ?? []).map((entry) => {
      const at = entry.indexOf("=");
      const host = entry.slice(0, at).trim().toLowerCase();
      const baseUrl = entry.slice(at + 1).trim();
      let url: URL | undefined;
      try {
        url = new URL(baseUrl);
      } catch { /* reported below */ }
      if (at <= 0 || !/^[a-z0-9.-]+(:\d+)?$/.test(host) || !url || !/^https?:$/.test(url.protocol)) {
        throw new CliError(
          `--model-upstream ${entry}: expected HOST=URL, e.g. api.openai.com=http://127.0.0.1:11434`,
        );
      }
      return { host, baseUrl: baseUrl.replace(/\/+$/, "") };
    }),
  };
}

const LOG_LEVELS = ["debug", "info", "warning", "error"] as const;

/** `--log-level`, checked. */
export function logLevelOption(flags: ServeFlags): (typeof LOG_LEVELS)[number] {
  const level = flags.logLevel ?? "info";
  const known = LOG_LEVELS.find((l) => l === level);
  if (!known) throw new CliError(`--log-level ${level}: expected one of ${LOG_LEVELS.join(", ")}`);
  return known;
}

/** `serve`'s flags. */
export interface ServeFlags {
  stateDir?: string;
  apiAddr?: string;
  dev?: boolean;
  isolator?: string;
  agentProgram?: string;
  inboundBacklog?: string;
  maxSandboxes?: string;
  idleStop?: string;
  warmSpares?: string;
  egressAllowPrivate?: string;
  searchBackend?: string;
  searchBackendFor?: string[];
  modelUpstream?: string[];
  keyCustody?: string;
  passphraseFile?: string;
  apiHost?: string;
  logLevel?: string;
  minRecurrence?: string;
  modelPrices?: string;
  usageDayOffset?: string;
  mcpAllowHostProcess?: boolean;
  mountPrefix?: string[];
}

/** `--mount-prefix DIR` (repeatable): where approved mounts may lie; absolute paths, checked now. */
export function mountPrefixesOption(flags: ServeFlags, stateDir: string): { mountPrefixes: string[] } {
  const prefixes = flags.mountPrefix ?? [];
  for (const prefix of prefixes) {
    if (!prefix.startsWith("/") || prefix.split("/").includes("..")) {
      throw new CliError(`--mount-prefix ${prefix}: expected an absolute directory without '..'`);
    }
  }
  return { mountPrefixes: prefixes.length ? prefixes : [`${stateDir}/mounts`] };
}

/** `--min-recurrence D`: the shortest task recurrence agents may ask for (default 5m). */
export function floodLimitsOption(flags: ServeFlags): { floodLimits: FloodLimits } {
  if (flags.minRecurrence === undefined) return { floodLimits: DEFAULT_FLOOD_LIMITS };
  try {
    return {
      floodLimits: { ...DEFAULT_FLOOD_LIMITS, minRecurrenceMs: parseMinRecurrence(flags.minRecurrence) },
    };
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

/** What the egress broker lets through, for the start-up line. */
export function describeEgress(egress: EgressSettings): string {
  const search = [
    egress.searchBackend ? `web_search via ${egress.searchBackend.split("=")[0]}` : "no web_search backend",
    ...(egress.searchBackendFor ?? []).map((entry) => `${entry.split("=")[0]}: ${entry.split("=")[1]}`),
  ];
  const privates = egress.allowPrivate ? `; private exceptions ${egress.allowPrivate}` : "";
  return `hosts a human approved per agent, public addresses only${privates}; ${search.join(", ")}`;
}

/** Where MCP servers run, for the start-up line. */
export function describeMcp(flags: ServeFlags): string {
  return flags.mcpAllowHostProcess
    ? "stdio servers as bare host processes (--mcp-allow-host-process: WEAKER, no sandbox); remote servers over HTTPS or let-through private ports"
    : "stdio servers each in a sandbox of its own (the agents' backend, runsc or bwrap); remote servers over HTTPS or let-through private ports";
}

/** The egress flags, checked now so a typo fails at start-up as one line. */
export function egressOption(flags: ServeFlags): { egress: EgressSettings } {
  const egress = {
    allowPrivate: flags.egressAllowPrivate,
    searchBackend: flags.searchBackend,
    searchBackendFor: flags.searchBackendFor,
  };
  try {
    parseAllowPrivate(egress.allowPrivate ?? "");
    chooseSearchBackends(
      { fallback: egress.searchBackend, perGroup: egress.searchBackendFor },
      () => Promise.resolve(undefined),
    );
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  return { egress };
}

/** A flag's whole number from 1 up, or a one-line error naming the flag, the value and `noun`. */
function countFlag(flag: string, value: string, noun: string): number {
  const text = value.trim();
  const count = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new CliError(`${flag} ${value}: expected a whole number of ${noun}, 1 or more`);
  }
  return count;
}

/** `--inbound-backlog N`: a whole number from 1 up; absent gives the plane's default. */
export function inboundBacklogOption(flags: ServeFlags): { inboundBacklogCap?: number } {
  if (flags.inboundBacklog === undefined) return {};
  return { inboundBacklogCap: countFlag("--inbound-backlog", flags.inboundBacklog, "messages") };
}

/** `--max-sandboxes N`: a whole number from 1 up; absent gives the plane's default. */
export function maxSandboxesOption(flags: ServeFlags): { maxSandboxes?: number } {
  if (flags.maxSandboxes === undefined) return {};
  return { maxSandboxes: countFlag("--max-sandboxes", flags.maxSandboxes, "sandboxes") };
}

/** `--model-prices FILE` and `--usage-day-offset MINUTES`: how model usage is priced and when its day ends. */
export async function usageOptions(
  flags: ServeFlags,
): Promise<{ modelPrices?: PriceTable; usageDayOffsetMinutes?: number }> {
  const options: { modelPrices?: PriceTable; usageDayOffsetMinutes?: number } = {};
  if (flags.modelPrices !== undefined) {
    try {
      options.modelPrices = await loadPriceFile(flags.modelPrices);
    } catch (err) {
      throw new CliError((err as Error).message);
    }
  }
  if (flags.usageDayOffset !== undefined) {
    const minutes = Number(flags.usageDayOffset);
    try {
      new UsageDay(minutes);
    } catch {
      throw new CliError(
        `--usage-day-offset ${flags.usageDayOffset}: expected whole minutes from UTC within ±840, e.g. 60 for UTC+1`,
      );
    }
    options.usageDayOffsetMinutes = minutes;
  }
  return options;
}

/** `--idle-stop D`: stop a sandbox idle this long (`10m`, `1h`; `0` keeps them up); absent gives 10 min. */
export function idleStopOption(flags: ServeFlags): { idleStopMs?: number } {
  if (flags.idleStop === undefined) return {};
  const text = flags.idleStop.trim();
  if (text === "0") return { idleStopMs: 0 };
  const ms = recurrenceMs(text);
  if (ms === undefined) {
    throw new CliError(
      `--idle-stop ${flags.idleStop}: expected a duration such as 10m, 30s or 1h, or 0 to keep sandboxes up`,
    );
  }
  return { idleStopMs: ms };
}

/** `--warm-spares N`: spares per agent group with recent traffic (0 for none); absent gives 1. */
export function warmSparesOption(flags: ServeFlags): { warmSpares: number } {
  if (flags.warmSpares === undefined) return { warmSpares: DEFAULT_WARM_SPARES };
  const count = Number(flags.warmSpares.trim());
  if (!/^\d+$/.test(flags.warmSpares.trim()) || count > MAX_WARM_SPARES) {
    throw new CliError(
      `--warm-spares ${flags.warmSpares}: expected a whole number of spares per agent from 0 (none) to ${MAX_WARM_SPARES}`,
    );
  }
  return { warmSpares: count };
}

/** Spares per agent group with recent traffic, unless `--warm-spares` says otherwise. */
export const DEFAULT_WARM_SPARES = 1;
/** More spares than this per group is a typo, not a plan: each holds a sandbox's memory. */
const MAX_WARM_SPARES = 16;

/**
 * The compiled agent to run, and where it was named: `--agent-program`, else
 * `$IRONCLAW_AGENT_PROGRAM`; neither gives the default (beside a compiled
 * `ironclaw`, or the agent bundled from source).
 */
export function agentExecutableOption(
  flags: ServeFlags,
): { agentExecutable?: string; agentExecutableFrom?: string } {
  const { executable, executableFrom } = namedProgram(
    flags.agentProgram,
    "--agent-program",
    AGENT_PROGRAM_ENV,
  );
  return executable ? { agentExecutable: executable, agentExecutableFrom: executableFrom } : {};
}

const ISOLATOR_CHOICES = ["auto", "runsc", "bwrap", "process", "kubernetes"] as const;
type IsolatorFlag = typeof ISOLATOR_CHOICES[number];

function isIsolatorFlag(value: string): value is IsolatorFlag {
  return (ISOLATOR_CHOICES as readonly string[]).includes(value);
}

/** True for names and addresses that only this machine can reach. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127(?:\.\d{1,3}){3}$/.test(h);
}

/** The signals that stop `serve` cleanly (SIGHUP: its terminal went away). */
const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/**
 * What a real (not `--dev`) start warns about: no model credential for any
 * provider and no model upstream (every model call would fail), and no agent
 * to talk to yet. Each warning says what to do.
 *
 * @example
 * ```ts ignore
 * startWarnings({ credentials: () => undefined, upstreams: [], agents: 0 });
 * // ["warning: no model credential is set …", "warning: no agent exists yet …"]
 * ```
 */
export function startWarnings(
  state: { credentials: CredentialSource; upstreams: readonly UpstreamConfig[]; agents: number },
): string[] {
  const warnings: string[] = [];
  const keyed = Object.keys(PROVIDER_CREDENTIAL_ENV).filter((host) => state.credentials(host) !== undefined);
  if (keyed.length === 0 && state.upstreams.length === 0) {
    warnings.push(
      `warning: no model credential is set (${Object.values(PROVIDER_CREDENTIAL_ENV).join(", ")}), ` +
        "nor a --model-upstream: every model call will fail (each conversation is told so); " +
        "set one in this process's environment or run `ironclaw onboard`, then restart",
    );
  }
  if (state.agents === 0) {
    warnings.push(
      "warning: no agent exists yet: propose one with `ironclaw agent create`, approve it with " +
        "`ironclaw change approve <id>`, then `ironclaw chat <agent>`",
    );
  }
  return warnings;
}

/**
 * Runs the control plane until `stop` aborts (by default: SIGINT, SIGTERM
 * or SIGHUP, also during start-up). Resolves once the API has drained and
 * the plane is closed.
 */
export async function runServe(io: CliIo, flags: ServeFlags, stop?: AbortSignal): Promise<void> {
  const api = await import("../src/api/mod.ts");
  const addrText = flags.apiAddr ?? api.DEFAULT_API_ADDR;
  let addr: { hostname: string; port: number };
  try {
    addr = api.parseApiAddr(addrText);
  } catch (err) {
    throw new CliError(`--api-addr ${addrText}: ${(err as Error).message}`);
  }
  if (flags.dev && !isLoopbackHost(addr.hostname)) {
    throw new CliError(
      `--dev listens on loopback only; refusing --api-addr ${addrText} (use 127.0.0.1:PORT)`,
    );
  }
  // The port first: a taken one is one line before anything opens, and before a one-time token is shown.
  try {
    Deno.listen({ hostname: addr.hostname, port: addr.port }).close();
  } catch (err) {
    if (err instanceof Deno.errors.AddrInUse) {
      throw new CliError(`cannot listen on ${addrText}: address in use`);
    }
    throw new CliError(`cannot listen on ${addrText}: ${(err as Error).message}`);
  }
  const isolator = flags.isolator ?? "auto";
  if (!isIsolatorFlag(isolator)) {
    throw new CliError(`--isolator ${isolator}: expected one of ${ISOLATOR_CHOICES.join(", ")}`);
  }
  if (isolator === "kubernetes") {
    // Before the state directory is opened: no kubeconfig is one line, not a half-started node agent.
    try {
      await loadKubeConfig();
    } catch (err) {
      throw new CliError((err as Error).message);
    }
  }
  const backlog = inboundBacklogOption(flags);
  const maxSandboxes = maxSandboxesOption(flags);
  const idleStop = idleStopOption(flags);
  const warmSpares = warmSparesOption(flags);
  const egress = egressOption(flags);
  const upstreams = modelUpstreamsOption(flags);
  const keyCustody = serveCustody(flags, { interactive: io.interactive });
  const limits = floodLimitsOption(flags);
  const usage = await usageOptions(flags);
  const stateDir = flags.stateDir ?? defaultStateDir();
  await configureLogging({ level: logLevelOption(flags) });
  // Listening before the plane opens: a signal during start-up (a mount, a sandbox check) waits for the
  // plane and closes it, rather than killing the process with its mounts and key copies in place.
  const signals = new AbortController();
  const onSignal = () => signals.abort();
  if (!stop) {
    for (const s of STOP_SIGNALS) Deno.addSignalListener(s, onSignal);
  }
  const unlisten = () => {
    if (!stop) {
      for (const s of STOP_SIGNALS) Deno.removeSignalListener(s, onSignal);
    }
  };
  // The provider `ironclaw onboard` chose (a local server's base URL, the key's variable); a flag wins for its host.
  const modelConfig = readModelConfig(stateDir);
  const onboarded = modelConfig ? modelProxyOptions(modelConfig) : undefined;
  const flagged = new Set(upstreams.upstreams.map((u) => u.host));
  const allUpstreams = [
    ...upstreams.upstreams,
    ...(onboarded?.upstreams ?? []).filter((u) => !flagged.has(u.host)),
  ];
  const mounts = mountPrefixesOption(flags, stateDir);
  let plane: ControlPlane;
  try {
    // A missing or unusable agent executable fails here, as one line saying where it was looked for.
    plane = await ControlPlane.open({
      stateDir,
      dev: flags.dev,
      isolator,
      ...agentExecutableOption(flags),
      ...backlog,
      ...maxSandboxes,
      ...idleStop,
      ...warmSpares,
      ...egress,
      upstreams: allUpstreams,
      ...(onboarded ? { credentials: onboarded.credentials } : {}),
      keyCustody,
      ...limits,
      ...usage,
      mcpAllowHostProcess: flags.mcpAllowHostProcess,
      ...mounts,
    });
  } catch (err) {
    unlisten();
    throw custodyError(err, stateDir);
  }
  try {
    const stopped = stop ?? signals.signal;
    if (stopped.aborted) return;
    const { token, source } = await resolveApiToken(stateDir);
    if (source === "minted") {
      io.out(`API token (shown once; kept in ${stateDir}/${API_TOKEN_FILE}, mode 0600): ${token}`);
    }
    // Which sandbox runs the agents (runsc when it works here; in dev the process backend is the labelled
    // fallback). Chosen now, so a machine with no usable sandbox fails at start-up, not at the first message.
    io.out(`agents run in: ${(await plane.isolator()).label}`);
    // Which agent program the sandboxes run: the compiled agent directly, or Deno with the bundle.
    io.out(`agent program: ${plane.agentProgram.description}`);
    io.out(`key custody: ${describeCustody(plane.keys.custody)}`);
    io.out(`egress: ${describeEgress(egress.egress)}`);
    for (const u of allUpstreams) io.out(`model upstream: ${u.host} → ${u.baseUrl}`);
    io.out(`mcp: ${describeMcp(flags)}`);
    io.out(`mounts: approved host directories under ${mounts.mountPrefixes.join(", ")}`);
    if (!flags.dev) {
      const model = modelConfig
        ? modelProxyOptions(modelConfig)
        : { ...upstreams, credentials: envCredentials() };
      const agents = plane.registry.listAgentGroups().length;
      for (const line of startWarnings({ ...model, agents })) io.err(line);
    }
    let server: import("../src/api/mod.ts").ApiServer;
    try {
      server = api.startApiServer(plane, {
        token,
        hostname: addr.hostname,
        port: addr.port,
        hostNames: flags.apiHost ? splitList(flags.apiHost) : [],
      });
    } catch (err) {
      if (err instanceof Deno.errors.AddrInUse) {
        throw new CliError(`cannot listen on ${addrText}: address in use`);
      }
      throw err;
    }
    io.out(`ironclaw ${flags.dev ? "(dev) " : ""}listening on ${server.url} — state in ${stateDir}`);
    await Promise.race([
      server.finished,
      new Promise<void>((resolve) => {
        if (stopped.aborted) resolve();
        stopped.addEventListener("abort", () => resolve(), { once: true });
      }),
    ]);
    await server.shutdown();
    await server.finished;
    io.out("ironclaw stopped");
  } finally {
    unlisten();
    await plane.close();
  }
}

/** Registers `serve` on `program`. */
export function registerServeCommand(program: Command, io: CliIo): void {
  const command = program.command("serve")
    .description("run the control plane and its HTTP API until SIGINT/SIGTERM")
    .option("--state-dir <dir>", "state directory (default $IRONCLAW_STATE_DIR or ~/.local/state/ironclaw)")
    .option(
      "--api-addr <host:port>",
      "where the API listens (default 127.0.0.1:8787; a tailnet address in production)",
    )
    .option("--dev", "development: loopback only, embedded defaults and the ready `demo` agent")
    .option(
      "--isolator <kind>",
      "sandbox backend: auto (runsc, else bwrap; the unsandboxed process backend only with --dev), runsc, bwrap, " +
        "process, kubernetes (gVisor Pods on this node; needs $KUBECONFIG or in-cluster, see deploy/k8s/README.md)",
    )
    .option(
      "--agent-program <file>",
      `the compiled ironclaw-agent the sandboxes run (default $${AGENT_PROGRAM_ENV}, else the one beside a ` +
        "compiled ironclaw; from source: the agent bundled with deno)",
    )
    .option(
      "--inbound-backlog <n>",
      `unanswered messages a session may hold before new ones are refused with 429 (default ${DEFAULT_INBOUND_BACKLOG_CAP})`,
    )
    .option(
      "--max-sandboxes <n>",
      "live sandboxes at most; at the cap the least recently used idle one is stopped, its messages kept " +
        "(default: half the host's memory at 256 MiB each)",
    )
    .option(
      "--idle-stop <duration>",
      "stop a sandbox idle this long, e.g. 10m (default), 1h; its next message wakes it; 0 keeps sandboxes up",
    )
    .option(
      "--warm-spares <n>",
      "sandboxes kept booted per agent with traffic in the last hour, so a new or woken conversation starts " +
        "at once (default 1; 0 for none; they count against --max-sandboxes; runsc and bwrap only)",
    )
    .option(
      "--egress-allow-private <host:port,...>",
      "let agents' approved fetches reach these exact private HOST:PORT services (default: public addresses only)",
    )
    .option(
      "--mcp-allow-host-process",
      "run registered stdio MCP servers as bare host processes instead of their own sandboxes (WEAKER isolation; minimal environment)",
    )
    .option(
      "--mount-prefix <dir>",
      "a host directory under which approved mounts may lie (repeatable; default <state-dir>/mounts)",
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option(
      "--search-backend <backend>",
      "web_search backend: duckduckgo, brave[:SECRET] (key from `ironclaw vault set`), searxng=URL; =URL overrides any",
    )
    .option(
      "--search-backend-for <group=backend>",
      "an agent group's own web_search backend (repeatable), e.g. research=searxng=https://search.example.org",
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option(
      "--model-upstream <host=url>",
      "send agents' model calls addressed to HOST to URL instead (repeatable), e.g. " +
        "api.openai.com=http://127.0.0.1:11434 for a local OpenAI-compatible server (agents on --provider openai)",
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option(
      "--min-recurrence <duration>",
      "the shortest recurrence an agent's scheduled task may have, e.g. 5m (default), 30m, 1h; each run is a model turn",
    )
    .option(
      "--model-prices <file>",
      'JSON prices overriding the shipped table, USD per million tokens: {"my-model": {"input": 3, "output": 15}}; ' +
        '"prefix*" matches a family, "*" any other model',
    )
    .option(
      "--usage-day-offset <minutes>",
      "where the usage day (and daily budgets) ends, in minutes from UTC midnight, e.g. 60 for UTC+1 (default 0)",
    )
    .option(
      "--log-level <level>",
      `what the log shows: ${LOG_LEVELS.join(", ")} (default info; debug adds a line per API request)`,
    )
    .option(
      "--api-host <names>",
      "Host names the API answers to besides its address (and localhost on loopback), comma-separated: " +
        "a reverse proxy's name; any other Host is refused (DNS rebinding)",
    )
    .option(
      "--key-custody <mode>",
      "how the master key is kept: passphrase (default; asked for, or from --passphrase-file or the systemd " +
        "credential) or file (plaintext 0600 file beside the data: development, weak; the --dev default)",
    );
  withPassphraseFlag(command).action((opts: ServeFlags) => runServe(io, opts));
}
