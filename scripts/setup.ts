/**
 * One-time set-up for a fresh Debian machine with node/npm: system packages
 * (installed with apt when running as root), npm dependencies, libsqlcipher.
 * Safe to run every time; each step is skipped when already done.
 *
 * @module
 */
import { checkBuildPrerequisites, ensureSqlcipher, MissingPackageError } from "./sqlcipher.ts";

/**
 * Debian packages the build and the suite need: the compiler and OpenSSL
 * headers for libsqlcipher, gVisor (`runsc`) and bubblewrap for the sandboxes,
 * `mkfs.ext4` (e2fsprogs) and `mount`/`umount` for the agent groups' disk-quota
 * volumes (minimal images may lack e2fsprogs), `strace` for the test that
 * counts libsqlcipher's syscalls.
 */
const SYSTEM_PACKAGES = [
  "gcc",
  "libssl-dev",
  "runsc",
  "bubblewrap",
  "e2fsprogs",
  "mount",
  "chromium",
  "strace",
];

async function main(): Promise<void> {
  const missing = [];
  for (const pkg of SYSTEM_PACKAGES) if (!(await isInstalled(pkg))) missing.push(pkg);
  if (missing.length > 0) await aptInstall(missing);
  await checkBuildPrerequisites();
  await run(Deno.execPath(), ["install", "--quiet"], "installing npm dependencies");
  await ensureSqlcipher();
}

async function isInstalled(pkg: string): Promise<boolean> {
  const out = await new Deno.Command("dpkg-query", {
    args: ["-W", "-f=${Status}", pkg],
    stdout: "piped",
    stderr: "null",
  })
    .output().catch(() => undefined);
  return !!out && new TextDecoder().decode(out.stdout).includes("install ok installed");
}

async function aptInstall(packages: string[]): Promise<void> {
  const isRoot = Deno.uid() === 0;
  if (!isRoot) {
    throw new Error(`missing system packages: run 'sudo apt-get install -y ${packages.join(" ")}' and retry`);
  }
  await run("apt-get", ["update", "-qq"], "refreshing apt package lists");
  await run("apt-get", ["install", "-y", "-qq", ...packages], `installing ${packages.join(", ")} with apt`);
}

async function run(cmd: string, args: string[], what: string): Promise<void> {
  console.error(`setup: ${what}…`);
  const status = await new Deno.Command(cmd, { args, stdout: "inherit", stderr: "inherit" }).spawn().status;
  if (!status.success) throw new Error(`${what} failed (${cmd} exited ${status.code})`);
}

if (import.meta.main) {
  try {
    await main();
  } catch (err) {
    console.error(`setup: ${err instanceof MissingPackageError || err instanceof Error ? err.message : err}`);
    Deno.exit(1);
  }
}
