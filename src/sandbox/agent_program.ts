/**
 * The agent program the isolators run: `sandbox-agent/main.ts` bundled into
 * one sealed `.js` file (sandboxes carry no module cache and the agent may
 * import nothing at run time). Built once per process, on the first launch,
 * into a private directory; a configured program file is used as is.
 *
 * @module
 */
import { ENTRYPOINTS } from "../../contract/permissions.ts";
import { ensurePrivateDir } from "../../isolator/host_dirs.ts";

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
      args: ["bundle", "--quiet", "--platform=deno", "-o", staging, source],
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
    return out;
  } finally {
    await Deno.remove(staging).catch(() => {});
  }
}
