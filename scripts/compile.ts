/**
 * Builds the sealed release binaries, `ironclaw` (host and CLI) and
 * `ironclaw-agent` (the sandbox program), with the permission flags from
 * `contract/permissions.ts` baked in, plus `libsqlcipher.so` beside them.
 *
 * `deno compile` needs Deno's `denort` runtime for the target platform, which
 * it downloads (or takes from `$DENORT_BIN`). On an offline machine that
 * fails: we stop with a clear message and leave no half-built binary.
 *
 * @module
 */
import {
  agentPermissionFlags,
  ENTRYPOINTS,
  HOST_PERMISSION_FLAGS,
  SANDBOX_LAYOUT,
} from "../contract/permissions.ts";
import { resolveLibraryPath, SQLCIPHER_LIB_NAME } from "../contract/sqlite/mod.ts";

const root = new URL("../", import.meta.url).pathname;
const dist = `${root}dist`;
const staging = `${dist}/.staging`;

/** What to compile, with which flags. */
export const TARGETS = [
  { name: "ironclaw", entry: ENTRYPOINTS.host, flags: [...HOST_PERMISSION_FLAGS] },
  { name: "ironclaw-agent", entry: ENTRYPOINTS.agent, flags: agentPermissionFlags(SANDBOX_LAYOUT) },
] as const;

async function compile(target: (typeof TARGETS)[number]): Promise<void> {
  console.error(`compile: ${target.name} from ${target.entry} (${target.flags.length} permission flags)…`);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["compile", ...target.flags, "--output", `${staging}/${target.name}`, `${root}${target.entry}`],
    cwd: root,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.success) return;
  const stderr = new TextDecoder().decode(out.stderr);
  if (/denort/i.test(stderr) && !Deno.env.get("DENORT_BIN")) {
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
    for (const target of TARGETS) await compile(target);
    await Deno.copyFile(resolveLibraryPath(), `${staging}/${SQLCIPHER_LIB_NAME}`);
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
