/**
 * The agent program the isolators run, chosen once when the host starts, in
 * one of two explicit ways:
 *
 * - **bundle** (running from source): `sandbox-agent/main.ts` bundled into
 *   one sealed `.js` file (sandboxes carry no module cache and the agent may
 *   import nothing at run time), which the sandbox runs as `deno run <the
 *   contract's agent flags> <bundle>`. Built once per process, on the first
 *   launch, into a private directory; a configured bundle is used as is.
 *   Beside the bundle the host prepares Deno's module-info cache for it
 *   (`isolator/plan.ts`, `MODULE_INFO_CACHE`): without it, Deno's parse of
 *   the bundle is most of a sandbox's cold start under gVisor.
 * - **executable** (a release): the compiled `ironclaw-agent`, its flags
 *   baked in by `deno compile`, which the sandbox runs directly. A compiled
 *   `ironclaw` has no Deno to bundle or run a bundle with (its
 *   `Deno.execPath()` is itself), so it always takes this way: the
 *   executable named by `serve --agent-program` or `$IRONCLAW_AGENT_PROGRAM`,
 *   else the `ironclaw-agent` beside its own executable. A host run from
 *   source takes it only when an executable is named.
 *
 * That choice ({@link chooseReleaseExecutable}) is shared with `ironclaw
 * verify`, which launches its probe the same way (`src/verify/probe_program.ts`).
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { ENTRYPOINTS } from "../../contract/permissions.ts";
import {
  type AgentProgramKind,
  ensurePrivateDir,
  exists,
  MODULE_INFO_CACHE,
  programCacheDir,
  removeIfPresent,
  SANDBOX_PROGRAM,
} from "../../isolator/mod.ts";

/** The agent's source entry point in this checkout. */
export const AGENT_SOURCE = new URL(`../../${ENTRYPOINTS.agent}`, import.meta.url).pathname;

/** Where the bundle is written. */
export const AGENT_BUNDLE_NAME = "ironclaw-agent.js";

/** The compiled agent's file name, as `deno task compile` writes it beside `ironclaw`. */
export const AGENT_EXECUTABLE_NAME = "ironclaw-agent";

/** The environment variable that names the compiled agent (like `serve --agent-program`). */
export const AGENT_PROGRAM_ENV = "IRONCLAW_AGENT_PROGRAM";

/** Bundling the agent failed; the message carries Deno's first lines. */
export class AgentBundleError extends Error {
  override name = "AgentBundleError";
}

/** The agent program cannot be had as configured (not found, not runnable); the message is one line. */
export class AgentProgramError extends Error {
  override name = "AgentProgramError";
}

/** How to obtain the program. */
export interface AgentProgramOptions {
  /**
   * The compiled `ironclaw-agent` to run directly (`serve --agent-program`,
   * `$IRONCLAW_AGENT_PROGRAM`); it wins over {@link program}. Default: none
   * from source; beside this host's executable when the host is compiled.
   */
  executable?: string;
  /** Where {@link executable} was given, for messages (e.g. `--agent-program`). */
  executableFrom?: string;
  /** A ready bundle: used as is (must exist). Tests and benchmarks; not for a compiled host. */
  program?: string;
  /** Directory for the bundle built from source (made 0700). */
  buildDir: string;
  /** The Deno binary that bundles (default: this process's). */
  denoPath?: string;
  /** The source entry point (default {@link AGENT_SOURCE}). */
  source?: string;
  /** Whether this host is a compiled binary (default `Deno.build.standalone`). */
  standalone?: boolean;
  /** This host's executable, beside which a compiled host finds the agent (default `Deno.execPath()`). */
  hostExecutable?: string;
}

/**
 * A program of the release that the sandboxes run directly (the agent, or
 * `ironclaw verify`'s probe), as {@link chooseReleaseExecutable} looks for
 * it and names it in its one-line errors.
 */
export interface ReleaseProgram {
  /** Its file name in a release, beside `ironclaw` (e.g. `ironclaw-agent`). */
  name: string;
  /** What it is called in messages (e.g. `agent program`). */
  noun: string;
  /** How an operator names another one (e.g. `serve --agent-program PATH or $IRONCLAW_AGENT_PROGRAM`). */
  howToName: string;
  /** The error every failure is thrown as. */
  error: new (message: string) => Error;
}

/** The agent, as a release ships it. */
export const AGENT_RELEASE_PROGRAM: ReleaseProgram = {
  name: AGENT_EXECUTABLE_NAME,
  noun: "agent program",
  howToName: `serve --agent-program PATH or $${AGENT_PROGRAM_ENV}`,
  error: AgentProgramError,
};

/** Where to look for a release program, and who is looking. */
export interface ReleaseExecutableOptions {
  /** A named executable (a flag or an environment variable); it wins. */
  executable?: string;
  /** Where {@link executable} was given, for messages (default `as configured`). */
  executableFrom?: string;
  /** Whether this host is a compiled binary (default `Deno.build.standalone`). */
  standalone?: boolean;
  /** This host's executable, beside which a compiled host looks (default `Deno.execPath()`). */
  hostExecutable?: string;
}

/**
 * The way a release program runs, decided once: `executable` (the file, made
 * absolute and canonical, and where it came from) when one is named, or when
 * this host is compiled (the file beside the host's own executable: a compiled
 * host has no Deno to bundle or run a bundle with); otherwise `bundle` (from
 * source). Throws `program.error` with one line when the named file is not
 * usable, or a compiled host has none beside it.
 */
export function chooseReleaseExecutable(
  program: ReleaseProgram,
  options: ReleaseExecutableOptions = {},
): { kind: "executable"; path: string; from: string } | { kind: "bundle" } {
  if (options.executable !== undefined) {
    const from = options.executableFrom ?? "as configured";
    return { kind: "executable", path: releaseExecutable(program, options.executable, from), from };
  }
  if (!(options.standalone ?? Deno.build.standalone)) return { kind: "bundle" };
  // A link to ironclaw still names the real file's directory: Deno.execPath() is canonical.
  const host = options.hostExecutable ?? Deno.execPath();
  const beside = host.replace(/[^/]+$/, program.name);
  if (!exists(beside)) {
    throw new program.error(
      `${program.name} not found: looked for ${beside} beside ${host}; install the release's ${program.name} ` +
        `there, or name it with ${program.howToName}`,
    );
  }
  const from = `found beside ${host}`;
  return { kind: "executable", path: releaseExecutable(program, beside, from), from };
}

/**
 * `path` made absolute and canonical, once checked to be a regular file that
 * everyone may read and run, since the sandbox's uid (65532, which owns
 * nothing on the host) runs it; `from` says where it was named, for messages.
 */
export function releaseExecutable(program: ReleaseProgram, path: string, from: string): string {
  let real: string;
  let info: Deno.FileInfo;
  try {
    real = Deno.realPathSync(path);
    info = Deno.statSync(real);
  } catch {
    throw new program.error(`${program.noun} ${path} (${from}) does not exist`);
  }
  if (!info.isFile) throw new program.error(`${program.noun} ${path} (${from}) is not a file`);
  if ((info.mode! & 0o005) !== 0o005) {
    throw new program.error(
      `${program.noun} ${path} (${from}) must be readable and executable by everyone, since the sandbox's ` +
        `uid runs it: chmod 755 ${real}`,
    );
  }
  return real;
}

/**
 * Resolves the agent program: the way (bundle or executable) at
 * construction, which throws {@link AgentProgramError} when a compiled host
 * has no agent executable; the bundle lazily, the first {@link path} call
 * building it and later calls sharing the result.
 */
export class AgentProgram {
  /** `bundle`: Deno runs a bundle with the contract's flags; `executable`: the compiled agent runs directly. */
  readonly kind: AgentProgramKind;
  /** The compiled agent (absolute), when {@link kind} is `executable`. */
  readonly executable?: string;
  /** One line for the operator: which program, how it runs, and why this one. */
  readonly description: string;
  #o: AgentProgramOptions;
  #path?: Promise<string>;
  /** Where the executable came from, for messages. */
  #from = "";

  constructor(options: AgentProgramOptions) {
    this.#o = options;
    const standalone = options.standalone ?? Deno.build.standalone;
    if (standalone && options.executable === undefined && options.program !== undefined) {
      throw new AgentProgramError(
        `this ironclaw is compiled and has no Deno to run the agent bundle ${options.program} with; ` +
          `give it the compiled ${AGENT_EXECUTABLE_NAME} instead`,
      );
    }
    const way = chooseReleaseExecutable(AGENT_RELEASE_PROGRAM, { ...options, standalone });
    if (way.kind === "executable") {
      this.kind = "executable";
      this.executable = way.path;
      this.#from = way.from;
      this.description = `${way.path} (the compiled agent, run directly; ${way.from})`;
    } else if (options.program !== undefined) {
      this.kind = "bundle";
      this.description = `${options.program} (a ready bundle, run by deno run with the contract's flags)`;
    } else {
      this.kind = "bundle";
      this.description = `${options.source ?? AGENT_SOURCE} bundled with ${
        options.denoPath ?? Deno.execPath()
      } on the first launch, run by deno run with the contract's flags`;
    }
  }

  /** The program's path; a failed build is retried on the next call. */
  path(): Promise<string> {
    // The compiled agent is checked at every launch (a stat); a bundle is built once.
    if (this.executable !== undefined) return this.#resolve();
    if (!this.#path) {
      const building = this.#resolve();
      this.#path = building;
      building.catch(() => {
        if (this.#path === building) this.#path = undefined;
      });
    }
    return this.#path;
  }

  async #resolve(): Promise<string> {
    if (this.executable !== undefined) {
      // Checked again: the file may have gone, or lost its modes, since the start.
      return releaseExecutable(AGENT_RELEASE_PROGRAM, this.executable, this.#from);
    }
    if (this.#o.program) {
      const info = await Deno.stat(this.#o.program).catch(() => undefined);
      if (!info?.isFile) throw new AgentBundleError(`agent program ${this.#o.program} is not a file`);
      return this.#o.program;
    }
    return await bundleAgent(this.#o.buildDir, this.#o.source ?? AGENT_SOURCE, this.#o.denoPath);
  }
}

/** Bundles `source` into `<dir>/ironclaw-agent.js` (written aside, then renamed into place). */
export async function bundleAgent(dir: string, source: string, denoPath = Deno.execPath()): Promise<string> {
  ensurePrivateDir(dir);
  const out = `${dir}/${AGENT_BUNDLE_NAME}`;
  const staging = `${out}.${crypto.randomUUID()}.tmp.js`;
  try {
    const result = await new Deno.Command(denoPath, {
      args: ["bundle", "--quiet", "--minify", "--platform=deno", "-o", staging, source],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    if (!result.success) {
      const detail = new TextDecoder().decode(result.stderr).trim().split("\n").slice(0, 6).join("\n");
      throw new AgentBundleError(`bundling the agent (${source}) failed: ${detail}`);
    }
    await Deno.rename(staging, out);
    // The sandbox's uid reads the program through a read-only bind.
    await Deno.chmod(out, 0o644);
    await prepareModuleInfo(out, denoPath);
    return out;
  } finally {
    await Deno.remove(staging).catch(() => {});
  }
}

/**
 * Prepares `<program>.deno-dir/dep_analysis_cache_v2`: `deno cache` parses
 * the bundle (it runs nothing) into a scratch DENO_DIR, and the entry is
 * re-keyed from the bundle's host path to {@link SANDBOX_PROGRAM}, where the
 * sandbox sees the same bytes (Deno checks their hash). Best effort: without
 * it the sandbox parses the bundle itself.
 */
export async function prepareModuleInfo(program: string, denoPath = Deno.execPath()): Promise<boolean> {
  const target = programCacheDir(program);
  const scratch = await Deno.makeTempDir({ prefix: "ironclaw-agent-cache-" });
  try {
    removeIfPresent(target);
    const result = await new Deno.Command(denoPath, {
      args: ["cache", "--quiet", program],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      clearEnv: true,
      env: { DENO_DIR: scratch, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1", PATH: Deno.env.get("PATH") ?? "" },
    }).output();
    if (!result.success) return false;
    const db = new DatabaseSync(`${scratch}/${MODULE_INFO_CACHE}`);
    try {
      const hostUrl = new URL(`file://${program}`).href;
      const moved = db.prepare("UPDATE moduleinfocache SET specifier = ? WHERE specifier = ?")
        .run(`file://${SANDBOX_PROGRAM}`, hostUrl);
      if (Number(moved.changes) !== 1) return false;
      // Only the agent's entry: no host path is carried into the sandbox.
      db.prepare("DELETE FROM moduleinfocache WHERE specifier != ?").run(`file://${SANDBOX_PROGRAM}`);
      db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    } finally {
      db.close();
    }
    const staging = `${target}.${crypto.randomUUID()}.tmp`;
    await Deno.mkdir(staging, { mode: 0o755 });
    await Deno.copyFile(`${scratch}/${MODULE_INFO_CACHE}`, `${staging}/${MODULE_INFO_CACHE}`);
    await Deno.chmod(`${staging}/${MODULE_INFO_CACHE}`, 0o644);
    await Deno.rename(staging, target);
    return true;
  } catch {
    return false;
  } finally {
    await Deno.remove(scratch, { recursive: true }).catch(() => {});
  }
}
