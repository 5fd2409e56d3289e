/**
 * Tool servers (local MCP servers) in sandboxes of their own: one program,
 * spoken to over its stdin and stdout, behind the walls of an agent's
 * sandbox of the same backend: gVisor (`runsc`, ptrace platform) or Linux
 * namespaces (`bwrap`). No network; a read-only root holding only the host's
 * library directories, the program's own directory and the paths its
 * registration declares (all read-only, at their host paths); uid 65532
 * without capabilities; the seccomp allowlist (threads, but no new process);
 * a 64 MiB tmpfs at `/tmp` as its only writable place (also `HOME` and the
 * working directory), gone when it stops; under runsc, memory, pids and CPU
 * limits. Its environment is exactly what it is given, plus `PATH` and `HOME`.
 *
 * @example
 * ```ts ignore
 * const sandbox = toolServerSandbox("runsc", { stateDir: "/var/lib/ironclaw/isolator" });
 * const server = await sandbox.start({ id: "mcp-sample-1", command: "/opt/mcp/bin/sample" });
 * ```
 *
 * @module
 */
import { appendTo, runCommand } from "./child.ts";
import { bwrapArgs, setprivBind } from "./bwrap.ts";
import { LaunchError } from "./errors.ts";
import { ensurePrivateDir, exists, removeIfPresent, rootRequired } from "./host_dirs.ts";
import { writeBundle } from "./oci.ts";
import { type BindMount, systemLayout } from "./plan.ts";
import { runscFlagArgs, type RunscPlatform } from "./runsc.ts";
import { BWRAP_POLICY, seccompBpf } from "./seccomp.ts";
import { DEFAULT_LIMITS, type ExitStatus, type IsolationStrength, type Limits } from "./types.ts";
import { isSafeId } from "../contract/ids.ts";

/** One tool server to start. */
export interface ToolServerSpec {
  /** A safe id, unique among running servers: names the container, its bundle and its log. */
  id: string;
  /** The program: an absolute host path, or a name looked up on the host's PATH. */
  command: string;
  args?: readonly string[];
  /** The server's environment (nothing of the host's). */
  env?: Readonly<Record<string, string>>;
  /** Host directories or files the program needs, bound read-only at the same paths. */
  paths?: readonly string[];
  limits?: Partial<Limits>;
}

/** A running tool server. */
export interface ToolServerProcess {
  /** The server's stdout. */
  readonly stdout: ReadableStream<Uint8Array>;
  /** The server's stdin. */
  readonly stdin: WritableStream<Uint8Array>;
  /** Its stderr and the runtime's own errors. */
  readonly logPath: string;
  /** Settles once the server is gone and what it left is removed. */
  readonly exited: Promise<ExitStatus>;
  /** Kills the server; safe to call more than once. */
  stop(): Promise<void>;
}

/** The backends tool servers can run in. */
export type ToolServerKind = "runsc" | "bwrap";

/** Starts tool servers in one backend. */
export interface ToolServerSandbox {
  readonly kind: ToolServerKind;
  readonly strength: IsolationStrength;
  /** What the sandbox holds and lacks, in one line (for `status`). */
  readonly description: string;
  start(spec: ToolServerSpec): Promise<ToolServerProcess>;
}

/** Where the backends keep their files, and their binaries (default: names on PATH). */
export interface ToolServerOptions {
  /** A private directory (made 0700) for bundles, runtime state and logs. */
  stateDir: string;
  /** Paths a server may never be given (the control plane's state): a declared path over or under one is refused. */
  forbiddenPaths?: readonly string[];
  runsc?: string;
  /** Default `ptrace`. */
  platform?: RunscPlatform;
  bwrap?: string;
  setpriv?: string;
  prlimit?: string;
}

/** The scratch, `HOME` and working directory: the sandbox's 64 MiB `/tmp` tmpfs. */
export const TOOL_SERVER_HOME = "/tmp";
const TOOL_SERVER_PATH = "/usr/local/bin:/usr/bin:/bin";

/** A tool server sandbox of `kind`. */
export function toolServerSandbox(kind: ToolServerKind, options: ToolServerOptions): ToolServerSandbox {
  return kind === "runsc" ? runscToolServers(options) : bwrapToolServers(options);
}

/**
 * Removes what tool servers of an earlier run left in `options.stateDir`
 * (a host that died without stopping them): every runsc container under its
 * runtime root, force-deleted, and every OCI bundle. Gives how many
 * containers were removed. bwrap servers die with their parent.
 */
export async function removeToolServerLeftovers(options: ToolServerOptions): Promise<number> {
  const runtime = `${options.stateDir}/runsc`;
  if (!exists(runtime)) return 0;
  const binary = options.runsc ?? "runsc";
  const listed = await runCommand(binary, ["--root", runtime, "list", "--quiet"]);
  const ids = listed.success ? listed.stdout.split("\n").filter((id) => id.trim() !== "") : [];
  for (const id of ids) await runCommand(binary, ["--root", runtime, "delete", "--force", id.trim()]);
  removeIfPresent(`${options.stateDir}/bundles`);
  return ids.length;
}

/** Finds `command` on the host: an absolute path as is, a bare name on PATH; then its real path. */
export function resolveCommand(
  command: string,
  searchPath = Deno.env.get("PATH") ?? "/usr/bin:/bin",
): string {
  if (command.includes("/")) {
    if (!command.startsWith("/")) {
      throw new Error(`the command ${command} must be an absolute path or a name on PATH`);
    }
    if (!exists(command)) throw new Error(`the command ${command} does not exist on this host`);
    return Deno.realPathSync(command);
  }
  for (const dir of searchPath.split(":").filter((d) => d.startsWith("/"))) {
    try {
      if (Deno.statSync(`${dir}/${command}`).isFile) return Deno.realPathSync(`${dir}/${command}`);
    } catch {
      // not in this directory
    }
  }
  throw new Error(`the command ${command} is not on this host's PATH; register it by its absolute path`);
}

function within(path: string, dir: string): boolean {
  return dir === "/" || path === dir || path.startsWith(`${dir}/`);
}

/**
 * What a server sees of the host: the program's directory and each declared
 * path, read-only (executable: programs and native modules live there), at
 * their real host paths; one already inside another is bound once.
 */
export function toolServerBinds(
  program: string,
  options: { paths?: readonly string[]; forbiddenPaths?: readonly string[] },
): BindMount[] {
  const sources = [program.slice(0, program.lastIndexOf("/")) || "/"];
  for (const path of options.paths ?? []) {
    if (!path.startsWith("/")) throw new Error(`the path ${path} must be absolute`);
    if (!exists(path)) throw new Error(`the path ${path} does not exist on this host`);
    sources.push(Deno.realPathSync(path));
  }
  for (const source of sources) {
    if (source === "/") throw new Error("a tool server cannot be given the whole host (/)");
    const forbidden = (options.forbiddenPaths ?? []).find((f) => within(source, f) || within(f, source));
    if (forbidden) {
      throw new Error(`a tool server cannot be given ${source}: it holds or is inside ${forbidden}`);
    }
  }
  const system = systemLayout().binds.map((b) => b.source);
  const kept = [...new Set(sources)].sort((a, b) => a.length - b.length).filter((source, i, all) =>
    !system.some((dir) => within(source, dir)) && !all.slice(0, i).some((dir) => within(source, dir))
  );
  return kept.map((source) => ({
    source,
    destination: source,
    writable: false,
    exec: true,
    isFile: Deno.statSync(source).isFile,
  }));
}

/** The checked spec: the program's real path, its command line, binds, environment and limits. */
interface ResolvedServer {
  id: string;
  argv: string[];
  binds: BindMount[];
  env: Record<string, string>;
  limits: Limits;
}

function resolveServer(spec: ToolServerSpec, options: ToolServerOptions, kind: string): ResolvedServer {
  const fail = (detail: string): never => {
    throw new LaunchError(spec.id, detail);
  };
  if (!isSafeId(spec.id)) fail("the tool server id is not a safe id");
  const notRoot = rootRequired();
  if (notRoot) fail(`${kind} ${notRoot}`);
  try {
    const program = resolveCommand(spec.command);
    const limits = { ...DEFAULT_LIMITS, ...spec.limits };
    return {
      id: spec.id,
      argv: [program, ...spec.args ?? []],
      binds: toolServerBinds(program, { paths: spec.paths, forbiddenPaths: options.forbiddenPaths }),
      env: { ...spec.env, PATH: TOOL_SERVER_PATH, HOME: TOOL_SERVER_HOME },
      limits,
    };
  } catch (err) {
    return fail((err as Error).message);
  }
}

/** Spawns `command` with stdin and stdout piped to the caller and stderr appended to `logPath`. */
function spawnPiped(command: string, args: string[], logPath: string) {
  Deno.writeTextFileSync(logPath, "", { append: true, mode: 0o600 });
  const child = new Deno.Command(command, {
    args,
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const logged = appendTo(child.stderr, logPath);
  const exited = Promise.all([child.status, logged.catch(() => {})]).then(([status]): ExitStatus => ({
    code: status.signal === null ? status.code : null,
    ...(status.signal === null ? {} : { signal: status.signal }),
  }));
  return { child, exited };
}

/** A running child as a {@link ToolServerProcess}: `terminate` kills it, `cleanup` runs once it is gone. */
function toolServerProcess(
  spawned: ReturnType<typeof spawnPiped>,
  options: { logPath: string; terminate: () => Promise<void>; cleanup: () => Promise<void> },
): ToolServerProcess {
  let done = false;
  const exited = spawned.exited.then(async (status) => {
    done = true;
    await options.cleanup();
    return status;
  });
  let stopping: Promise<void> | undefined;
  return {
    stdout: spawned.child.stdout,
    stdin: spawned.child.stdin,
    logPath: options.logPath,
    exited,
    stop: () =>
      stopping ??= (async () => {
        if (!done) await options.terminate();
        await exited;
      })(),
  };
}

function runscToolServers(options: ToolServerOptions): ToolServerSandbox {
  const binary = options.runsc ?? "runsc";
  const platform = options.platform ?? "ptrace";
  return {
    kind: "runsc",
    strength: "gvisor",
    description: `gVisor (runsc, platform ${platform}): no network, read-only root, uid 65532, ` +
      "seccomp allowlist, its own 64 MiB /tmp, memory, pids and CPU limits",
    async start(spec) {
      const s = resolveServer(spec, options, "runsc");
      const runtime = ensurePrivateDir(`${options.stateDir}/runsc`);
      const bundle = `${ensurePrivateDir(`${options.stateDir}/bundles`)}/${s.id}`;
      const logPath = `${ensurePrivateDir(`${options.stateDir}/logs`)}/${s.id}.log`;
      const id = `ironclaw-${s.id}`;
      const cleanup = async () => {
        await runCommand(binary, ["--root", runtime, "delete", "--force", id]);
        removeIfPresent(bundle);
      };
      await cleanup();
      try {
        writeBundle(bundle, {
          argv: s.argv,
          binds: s.binds,
          system: systemLayout(),
          limits: s.limits,
          cgroupsPath: `/ironclaw/${s.id}`,
          env: s.env,
          cwd: TOOL_SERVER_HOME,
        });
        const spawned = spawnPiped(binary, [
          "--root",
          runtime,
          "--platform",
          platform,
          ...runscFlagArgs(),
          "run",
          "--bundle",
          bundle,
          id,
        ], logPath);
        return toolServerProcess(spawned, {
          logPath,
          terminate: async () => {
            await runCommand(binary, ["--root", runtime, "kill", id, "KILL"]);
            await runCommand(binary, ["--root", runtime, "delete", "--force", id]);
            try {
              spawned.child.kill("SIGKILL");
            } catch {
              // runsc already exited with its container.
            }
          },
          cleanup,
        });
      } catch (err) {
        await cleanup();
        throw err instanceof LaunchError ? err : new LaunchError(s.id, (err as Error).message);
      }
    },
  };
}

function bwrapToolServers(options: ToolServerOptions): ToolServerSandbox {
  return {
    kind: "bwrap",
    strength: "namespaces",
    description: "Linux namespaces (bwrap): no network, read-only root, uid 65532, seccomp allowlist, " +
      "its own 64 MiB /tmp; shares the host kernel; memory, pids and CPU limits NOT enforced (no cgroups)",
    start(spec) {
      const s = resolveServer(spec, options, "bwrap");
      const logPath = `${ensurePrivateDir(`${options.stateDir}/logs`)}/${s.id}.log`;
      // The server's stdin is its MCP channel, so bwrap reads the filter from descriptor 3, opened by sh.
      const filter = `${ensurePrivateDir(options.stateDir)}/tool-server-seccomp.bpf`;
      Deno.writeFileSync(filter, seccompBpf(Deno.build.arch, BWRAP_POLICY), { mode: 0o600 });
      try {
        const args = bwrapArgs([...s.binds, setprivBind(options.setpriv ?? "setpriv")], s.argv, {
          env: s.env,
          cwd: TOOL_SERVER_HOME,
          seccompFd: 3,
        });
        const spawned = spawnPiped(options.prlimit ?? "prlimit", [
          "--core=0",
          "--nofile=1024:1024",
          "--",
          "/bin/sh",
          "-c",
          'exec 3<"$0"; exec "$@"',
          filter,
          resolveCommand(options.bwrap ?? "bwrap"),
          ...args,
        ], logPath);
        // bwrap is pid 1 of the sandbox's namespace: killing it ends everything inside.
        return Promise.resolve(toolServerProcess(spawned, {
          logPath,
          terminate: () => Promise.resolve(spawned.child.kill("SIGKILL")),
          cleanup: () => Promise.resolve(),
        }));
      } catch (err) {
        throw new LaunchError(s.id, (err as Error).message);
      }
    },
  };
}
