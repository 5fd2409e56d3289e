/**
 * Builds the sealed release binaries, `ironclaw` (host and CLI),
 * `ironclaw-agent` (the sandbox program) and `ironclaw-probe` (`ironclaw
 * verify`'s adversarial probe, built exactly like the agent), with the
 * permission flags from `contract/permissions.ts` baked in, plus
 * `libsqlcipher.so` beside them. A compiled `ironclaw` runs the
 * `ironclaw-agent` beside it directly in every sandbox
 * (`src/sandbox/agent_program.ts`), and `verify` the `ironclaw-probe` the
 * same way (`src/verify/probe_program.ts`), so the four files ship together.
 *
 * `deno compile` needs Deno's `denort` runtime for the target platform, which
 * it downloads (or takes from `$DENORT_BIN`). On an offline machine that
 * fails: we stop with a clear message and leave no half-built binary.
 *
 * @module
 */
import {
  AGENT_RUNTIME_FLAGS,
  agentPermissionFlags,
  ENTRYPOINTS,
  HOST_PERMISSION_FLAGS,
  SANDBOX_LAYOUT,
} from "../contract/permissions.ts";
import { resolveLibraryPath, SQLCIPHER_LIB_NAME } from "../contract/sqlite/mod.ts";

const root = new URL("../", import.meta.url).pathname;
const dist = `${root}dist`;
const staging = `${dist}/.staging`;

/** One binary: its name, entry point, baked-in permission flags and other compile options. */
export interface CompileTarget {
  name: string;
  entry: string;
  flags: readonly string[];
  options: readonly string[];
}

/** The probe's entry point, relative to the repository root (`PROBE_SOURCE` in `src/verify/probe_program.ts`). */
export const PROBE_ENTRY = "isolator/probe/main.ts";

/**
 * How a program that runs in the sandbox is compiled: the agent, and the
 * probe that must be launched exactly like it. See {@link TARGETS}.
 */
export const SANDBOX_PROGRAM_OPTIONS: readonly string[] = ["--bundle", "--minify", ...AGENT_RUNTIME_FLAGS];

/**
 * What to compile, with which flags. No target passes `--target`: the
 * agent runs on the host's kernel under the host's seccomp filter for its
 * architecture, beside the libsqlcipher that setup built natively, so a
 * platform's release is built on that platform.
 *
 * The agent's options:
 * - `--bundle --minify`: the same esbuild bundle (`deno bundle --minify`)
 *   that every sandbox runs from source, so the release runs the code the
 *   tests run; it embeds ~1.3 MB instead of the whole `node_modules` tree
 *   (~65 MB: grammY, Hono, the SQLCipher sources…) the agent never loads.
 *   The provider SDKs it loads with `import()` are inlined by the bundler,
 *   so nothing needs `--include`.
 * - `AGENT_RUNTIME_FLAGS` (`contract/permissions.ts`), as every sandbox runs
 *   the agent from source: `--no-code-cache` (a compiled program writes its V8
 *   code cache into the temporary directory on its first run; each sandbox
 *   starts with an empty private `/tmp`, so the cache would be written at every
 *   launch and never read) and the V8 flags that lower its footprint.
 * - no `--include` of libsqlcipher: FFI loads a real file, and the agent's
 *   `--allow-ffi` names only `SANDBOX_LAYOUT.library`, where every isolator
 *   binds the host's copy (the one shipped beside `ironclaw`), exactly as for
 *   the agent run from source.
 *
 * The probe (`ironclaw verify`) is compiled with the agent's flags and
 * options: it stands in for a compromised agent, so in a release it must start
 * with what a compiled agent starts with, launched the same way.
 */
export const TARGETS: readonly CompileTarget[] = [
  { name: "ironclaw", entry: ENTRYPOINTS.host, flags: [...HOST_PERMISSION_FLAGS], options: [] },
  {
    name: "ironclaw-agent",
    entry: ENTRYPOINTS.agent,
    flags: agentPermissionFlags(SANDBOX_LAYOUT),
    options: SANDBOX_PROGRAM_OPTIONS,
  },
  {
    name: "ironclaw-probe",
    entry: PROBE_ENTRY,
    flags: agentPermissionFlags(SANDBOX_LAYOUT),
    options: SANDBOX_PROGRAM_OPTIONS,
  },
];

/** The `deno compile` arguments that write `target` to `output`. */
export function compileArgs(target: CompileTarget, output: string): string[] {
  return ["compile", ...target.flags, ...target.options, "--output", output, `${root}${target.entry}`];
}

/**
 * Compiles `target` to `output`. `env` is added to this process's
 * environment (`DENORT_BIN` names a local runtime).
 */
export async function compileTarget(
  target: CompileTarget,
  output: string,
  env: Record<string, string> = {},
): Promise<void> {
  console.error(`compile: ${target.name} from ${target.entry} (${target.flags.length} permission flags)…`);
  const out = await new Deno.Command(Deno.execPath(), {
    args: compileArgs(target, output),
    cwd: root,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.success) {
    // The sandbox's uid runs the agent and the probe through a read-only bind: everyone may read and run them.
    await Deno.chmod(output, 0o755);
    return;
  }
  const stderr = new TextDecoder().decode(out.stderr);
  if (/denort/i.test(stderr) && !(env.DENORT_BIN ?? Deno.env.get("DENORT_BIN"))) {
    throw new Error(
      "deno compile needs the denort runtime, which it downloads from Deno's release server, and this machine " +
        "cannot reach it. Build on a machine with internet access, or set DENORT_BIN to a local denort " +
        `${Deno.version.deno} binary. Nothing was written to dist/.`,
    );
  }
  throw new Error(
    `deno compile failed for ${target.name}:\n${stderr.trim().split("\n").slice(0, 8).join("\n")}`,
  );
}

async function main(): Promise<void> {
  await Deno.remove(staging, { recursive: true }).catch(() => {});
  await Deno.mkdir(staging, { recursive: true });
  try {
    for (const target of TARGETS) await compileTarget(target, `${staging}/${target.name}`);
    await Deno.copyFile(resolveLibraryPath(), `${staging}/${SQLCIPHER_LIB_NAME}`);
    // The sandbox's uid reads the library through a read-only bind.
    await Deno.chmod(`${staging}/${SQLCIPHER_LIB_NAME}`, 0o644);
    for (const name of [...TARGETS.map((t) => t.name), SQLCIPHER_LIB_NAME]) {
      await Deno.rename(`${staging}/${name}`, `${dist}/${name}`);
    }
    console.error(
      `compile: wrote ${TARGETS.map((t) => `dist/${t.name}`).join(", ")} and dist/${SQLCIPHER_LIB_NAME}`,
    );
  } finally {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  try {
    await main();
  } catch (err) {
    console.error(`compile: ${err instanceof Error ? err.message : err}`);
    Deno.exit(1);
  }
}
