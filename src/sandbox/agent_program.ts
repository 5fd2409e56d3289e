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
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { ENTRYPOINTS } from "../../contract/permissions.ts";
import { ensurePrivateDir, exists, removeIfPresent } from "../../isolator/host_dirs.ts";
import { MODULE_INFO_CACHE, programCacheDir, SANDBOX_PROGRAM } from "../../isolator/plan.ts";
import type { AgentProgramKind } from "../../isolator/types.ts";

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
 * The named agent executable, made absolute and canonical; it must be a
 * regular file that everyone may read and run, since the sandbox's uid
 * (65532, which owns nothing on the host) runs it.
 */
function agentExecutable(path: string, from: string): string {
  let real: string;
  let info: Deno.FileInfo;
  try {
    real = Deno.realPathSync(path);
    info = Deno.statSync(real);
  } catch {
    throw new AgentProgramError(`agent program ${path} (${from}) does not exist`);
  }
  if (!info.isFile) throw new AgentProgramError(`agent program ${path} (${from}) is not a file`);
  if ((info.mode! & 0o005) !== 0o005) {
    throw new AgentProgramError(
      `agent program ${path} (${from}) must be readable and executable by everyone, since the sandbox's ` +
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
    const host = options.hostExecutable ?? Deno.execPath();
    if (options.executable !== undefined) {
      this.#from = options.executableFrom ?? "as configured";
      this.kind = "executable";
      this.executable = agentExecutable(options.executable, this.#from);
      this.description = `${this.executable} (the compiled agent, run directly; ${this.#from})`;
    } else if (standalone) {
      if (options.program !== undefined) {
        throw new AgentProgramError(
          `this ironclaw is compiled and has no Deno to run the agent bundle ${options.program} with; ` +
            `give it the compiled ${AGENT_EXECUTABLE_NAME} instead`,
        );
      }
      const beside = host.replace(/[^/]+$/, AGENT_EXECUTABLE_NAME);
      if (!exists(beside)) {
        throw new AgentProgramError(
          `${AGENT_EXECUTABLE_NAME} not found: looked for ${beside} beside ${host}; install the release's ` +
            `${AGENT_EXECUTABLE_NAME} there, or name it with serve --agent-program PATH or $${AGENT_PROGRAM_ENV}`,
        );
      }
      this.#from = `found beside ${host}`;
      this.kind = "executable";
      this.executable = agentExecutable(beside, this.#from);
      this.description = `${this.executable} (the compiled agent, run directly; found beside ${host})`;
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
      return agentExecutable(this.executable, this.#from);
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
