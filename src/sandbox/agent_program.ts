/**
 * The agent program the isolators run: `sandbox-agent/main.ts` bundled into
 * one sealed `.js` file (sandboxes carry no module cache and the agent may
 * import nothing at run time). Built once per process, on the first launch,
 * into a private directory; a configured program file is used as is.
 * Beside the bundle the host prepares Deno's module-info cache for it
 * (`isolator/plan.ts`, `MODULE_INFO_CACHE`): without it, Deno's parse of the
 * bundle is most of a sandbox's cold start under gVisor.
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { ENTRYPOINTS } from "../../contract/permissions.ts";
import { ensurePrivateDir, removeIfPresent } from "../../isolator/host_dirs.ts";
import { MODULE_INFO_CACHE, programCacheDir, SANDBOX_PROGRAM } from "../../isolator/plan.ts";

/** The agent's source entry point in this checkout. */
export const AGENT_SOURCE = new URL(`../../${ENTRYPOINTS.agent}`, import.meta.url).pathname;

/** Where the bundle is written. */
export const AGENT_BUNDLE_NAME = "ironclaw-agent.js";

/** Bundling the agent failed; the message carries Deno's first lines. */
export class AgentBundleError extends Error {
  override name = "AgentBundleError";
}

/** How to obtain the program. */
export interface AgentProgramOptions {
  /** A ready bundle: used as is (must exist). */
  program?: string;
  /** Directory for the bundle built from source (made 0700). */
  buildDir: string;
  /** The Deno binary that bundles (default: this process's). */
  denoPath?: string;
  /** The source entry point (default {@link AGENT_SOURCE}). */
  source?: string;
}

/** Resolves the agent program lazily: the first call builds it, later calls share the result. */
export class AgentProgram {
  #o: AgentProgramOptions;
  #path?: Promise<string>;

  constructor(options: AgentProgramOptions) {
    this.#o = options;
  }

  /** The program's path; a failed build is retried on the next call. */
  path(): Promise<string> {
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
