/**
 * Child processes: a logged long-running child behind a {@link SandboxHandle},
 * and short runtime commands whose output we read.
 *
 * @module
 */
import { LaunchError } from "./errors.ts";
import { rootRequired } from "./host_dirs.ts";
import { agentRunner } from "./plan.ts";
import { withTimerSlack } from "./timer_slack.ts";
import type { AgentRunner, CheckResult, ExitStatus, SandboxHandle } from "./types.ts";

/** How to start a supervised child. */
export interface SpawnOptions {
  args: string[];
  logPath: string;
  env?: Record<string, string>;
  /** Bytes written to the child's stdin, which is then closed. */
  stdin?: Uint8Array;
  /**
   * The timer slack (ns) the child and everything it starts inherit
   * (`timer_slack.ts`); default this process's. Where it cannot be set the
   * child starts anyway, with a line saying so in its log.
   */
  timerSlackNs?: number;
}

/** A running child whose stdout and stderr append to a log file. */
export interface LoggedChild {
  child: Deno.ChildProcess;
  /** Settles when the child has exited and its output is flushed to the log. */
  exited: Promise<ExitStatus>;
}

/**
 * Appends each chunk as it arrives (`pipeTo` held the output back until the
 * child exited). The write is synchronous: an append to a local file lands
 * in the page cache at once, and an async file write would hand each line
 * (a busy agent logs a few a turn) to a worker thread and back.
 */
export async function appendTo(stream: ReadableStream<Uint8Array>, logPath: string): Promise<void> {
  using file = await Deno.open(logPath, { append: true, create: true, mode: 0o600 });
  for await (const chunk of stream) {
    for (let done = 0; done < chunk.length;) done += file.writeSync(chunk.subarray(done));
  }
}

/** Starts `command` with a cleared environment; its output goes to `logPath` (0600). */
export async function spawnLogged(command: string, opts: SpawnOptions): Promise<LoggedChild> {
  await Deno.writeTextFile(opts.logPath, "", { append: true, mode: 0o600 });
  const spawn = () =>
    new Deno.Command(command, {
      args: opts.args,
      clearEnv: true,
      env: opts.env ?? {},
      stdin: opts.stdin ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  const slack = opts.timerSlackNs === undefined ? undefined : withTimerSlack(opts.timerSlackNs, spawn);
  const child = slack?.value ?? spawn();
  if (slack && !slack.applied) {
    await Deno.writeTextFile(
      opts.logPath,
      "ironclaw: the timer slack could not be set; the default applies\n",
      {
        append: true,
      },
    );
  }
  if (opts.stdin) {
    const writer = child.stdin.getWriter();
    await writer.write(opts.stdin);
    await writer.close();
  }
  const flushed = Promise.all([appendTo(child.stdout, opts.logPath), appendTo(child.stderr, opts.logPath)]);
  const exited = Promise.all([child.status, flushed]).then(([status]) => ({
    code: status.signal === null ? status.code : null,
    ...(status.signal === null ? {} : { signal: status.signal }),
  }));
  return { child, exited };
}

/** The result of a short command. */
export interface CommandResult {
  success: boolean;
  /** The exit code; null when a signal ended the command or it could not start. */
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a short command to completion; a missing binary is a failed result, not a throw. */
export async function runCommand(command: string, args: string[]): Promise<CommandResult> {
  try {
    const out = await new Deno.Command(command, { args, stdin: "null", stdout: "piped", stderr: "piped" })
      .output();
    const decode = (b: Uint8Array) => new TextDecoder().decode(b).trim();
    return {
      success: out.success,
      code: out.signal === null ? out.code : null,
      stdout: decode(out.stdout),
      stderr: decode(out.stderr),
    };
  } catch (err) {
    return {
      success: false,
      code: null,
      stdout: "",
      stderr: err instanceof Error ? err.message : String(err),
    };
  }
}

/** What a backend does to end and clean up its sandbox. */
export interface Supervision {
  sessionId: string;
  logPath: string;
  started: LoggedChild;
  /** Whether the sandbox still runs, asked only while the child has not exited. */
  alive: () => Promise<boolean>;
  /** Kills the sandbox; the child exits as a result. */
  terminate: () => Promise<void>;
  /** Removes what the launch left behind (key copy, bundle); runs once, however the sandbox ended. */
  cleanup: () => Promise<void>;
}

/** Wraps a backend's child in a {@link SandboxHandle}. */
export function supervise(s: Supervision): SandboxHandle {
  let done = false;
  const exited = s.started.exited.then(async (status) => {
    done = true;
    await s.cleanup();
    return status;
  });
  let stopping: Promise<void> | undefined;
  return {
    sessionId: s.sessionId,
    logPath: s.logPath,
    exited,
    alive: async () => !done && await s.alive(),
    stop: () =>
      stopping ??= (async () => {
        if (!done) await s.terminate();
        await exited;
      })(),
  };
}

/** What a backend supplies to start one sandbox under supervision. */
export interface SupervisedLaunch {
  sessionId: string;
  logPath: string;
  /** Hands the key over, writes whatever the runtime needs, and spawns it. */
  start: () => Promise<LoggedChild>;
  /** As in {@link Supervision}; default: alive while the child runs. */
  alive?: () => Promise<boolean>;
  /** As in {@link Supervision}; default: SIGKILL to the child, which ends the sandbox with it. */
  terminate?: (child: Deno.ChildProcess) => Promise<void>;
  cleanup: () => Promise<void>;
}

/**
 * Starts a sandbox and supervises it. A failed start runs `cleanup` (no key
 * copy or bundle is left behind) and becomes a {@link LaunchError}.
 */
export async function startSupervised(launch: SupervisedLaunch): Promise<SandboxHandle> {
  let started: LoggedChild;
  try {
    started = await launch.start();
  } catch (err) {
    await launch.cleanup();
    throw err instanceof LaunchError ? err : new LaunchError(launch.sessionId, (err as Error).message);
  }
  const terminate = launch.terminate ??
    ((child: Deno.ChildProcess) => Promise.resolve(child.kill("SIGKILL")));
  return supervise({
    sessionId: launch.sessionId,
    logPath: launch.logPath,
    started,
    alive: launch.alive ?? (() => Promise.resolve(true)),
    terminate: () => terminate(started.child),
    cleanup: launch.cleanup,
  });
}

/** Paths every backend keeps: its private state directory, the key root, and how it runs agents. */
export interface BackendPaths {
  stateDir: string;
  keyRoot: string;
  /** Deno and bundles, or the compiled agent; `check()` smoke-runs the one it names. */
  agent: AgentRunner;
}

/** Fills in a backend's paths from its options; `keyRoot` is the backend's default key root. */
export function backendPaths(
  opts: { stateDir: string; keyRoot?: string; denoPath?: string; agentExecutable?: string },
  keyRoot: () => string,
): BackendPaths {
  return { stateDir: opts.stateDir, keyRoot: opts.keyRoot ?? keyRoot(), agent: agentRunner(opts) };
}

/**
 * The common start of a sandboxing backend's `check()`: it must run as root
 * and its runtime must answer `--version`. Gives the failed check, or the
 * runtime's version text.
 */
export async function runtimePreflight(
  kind: string,
  binary: string,
): Promise<{ failed: CheckResult } | { version: string }> {
  const notRoot = rootRequired();
  if (notRoot) return { failed: { ok: false, detail: `${kind} ${notRoot}` } };
  const version = await runCommand(binary, ["--version"]);
  if (!version.success) {
    return { failed: { ok: false, detail: `${kind} is not installed or does not run: ${version.stderr}` } };
  }
  return { version: version.stdout };
}
