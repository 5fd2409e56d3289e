/**
 * `deno task release`: the files a release publishes, in `dist/release/`:
 *
 * - `ironclaw_<version>_linux-<arch>.tar.gz`: one directory of that name
 *   holding `ironclaw`, `ironclaw-agent`, `ironclaw-probe` (0755),
 *   `libsqlcipher.so` (0644) and `deploy/`'s installer and unit, owned by
 *   root, sorted, with one fixed mtime;
 * - `install.sh`: the installer again, loose, for `curl … | sh`;
 * - `ironclaw_<version>_linux-<arch>.cdx.json`: the CycloneDX SBOM (`scripts/sbom.ts`);
 * - `SHA256SUMS`: `sha256sum -c` lines for the archive and the SBOM (what
 *   `deploy/install.sh` checks before unpacking, and what the release
 *   workflow signs with cosign).
 *
 * The binaries are compiled here with `deno compile` (`scripts/compile.ts`,
 * which needs Deno's `denort`), or taken ready-built from `--binaries DIR`:
 * how the tests package the compiled stand-ins of
 * `tests/support/compiled_standin.ts` on a machine without `denort`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createHash } from "node:crypto";
import config from "../deno.json" with { type: "json" };
import { SQLCIPHER_VERSION } from "../contract/sqlite/mod.ts";
import { resolveLibraryPath, SQLCIPHER_LIB_NAME } from "../contract/sqlite/mod.ts";
import { compileTarget, TARGETS } from "./compile.ts";
import { releaseSbom } from "./sbom.ts";

const root = new URL("../", import.meta.url).pathname;

/** The built files of a release: the binaries and the library (what `--binaries DIR` holds). */
export const RELEASE_FILES: readonly string[] = [...TARGETS.map((t) => t.name), SQLCIPHER_LIB_NAME];

/** `deploy/` files that go into the archive too, with their modes: the installer and the service unit. */
export const DEPLOY_FILES: Readonly<Record<string, number>> = {
  "install.sh": 0o755,
  "ironclaw.service": 0o644,
};

/** The release's name for this machine's architecture (`x64`, `arm64`), as `install.sh` computes it. */
export function releaseArch(arch: string = Deno.build.arch): string {
  if (arch === "x86_64") return "x64";
  if (arch === "aarch64") return "arm64";
  throw new Error(`no release for architecture ${arch}`);
}

/** `ironclaw_<version>_linux-<arch>`: the archive's name without `.tar.gz`, and its one directory. */
export function releaseName(version: string, arch: string): string {
  return `ironclaw_${version}_linux-${arch}`;
}

/** What {@link buildRelease} does. */
export interface ReleaseOptions {
  /** Where the release goes (made if missing; the release's own files in it are replaced). */
  out: string;
  /** A directory holding ready-built {@link RELEASE_FILES}; otherwise they are compiled here. */
  binaries?: string;
  /** The version the names carry; deno.json's by default. */
  version?: string;
  /** gzip's level, 1 (fastest) to 9; 6, gzip's own default, unless a test needs speed over size. */
  gzipLevel?: number;
}

/** The paths {@link buildRelease} wrote. */
export interface Release {
  archive: string;
  sbom: string;
  sums: string;
  installer: string;
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

async function run(cmd: string, args: string[], options: { cwd?: string } = {}): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd: options.cwd, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** The version of Debian's libssl-dev that libsqlcipher.so was built against, if dpkg knows it. */
async function opensslVersion(): Promise<string | undefined> {
  const version = await run("dpkg-query", ["-W", "-f=${Version}", "libssl-dev"]).catch(() => "");
  return version.trim() || undefined;
}

/** The installer's default repository line: the release workflow names its own (`$GITHUB_REPOSITORY`). */
const INSTALLER_REPO_LINE = "IRONCLAW_REPO=${IRONCLAW_REPO:-ironclaw/ironclaw}";

/** `deploy/<name>`'s text as the release ships it: the installer downloads from the repository it came from. */
function deployFile(name: string): string {
  const text = Deno.readTextFileSync(`${root}deploy/${name}`);
  const repo = Deno.env.get("GITHUB_REPOSITORY");
  if (name !== "install.sh" || !repo) return text;
  if (!/^[\w.-]+\/[\w.-]+$/.test(repo)) throw new Error(`GITHUB_REPOSITORY is not owner/name: ${repo}`);
  if (!text.includes(INSTALLER_REPO_LINE)) throw new Error(`deploy/install.sh lacks ${INSTALLER_REPO_LINE}`);
  return text.replace(INSTALLER_REPO_LINE, `IRONCLAW_REPO=\${IRONCLAW_REPO:-${repo}}`);
}

/** Fills `dir` with the release's four files: copied from `from`, or compiled and copied from the cache. */
async function gatherBinaries(dir: string, from: string | undefined): Promise<void> {
  if (from) {
    for (const name of RELEASE_FILES) {
      await Deno.copyFile(`${from}/${name}`, `${dir}/${name}`).catch((err) => {
        throw new Error(`--binaries ${from}: cannot take ${name}: ${err.message}`);
      });
    }
  } else {
    for (const target of TARGETS) await compileTarget(target, `${dir}/${target.name}`);
    await Deno.copyFile(resolveLibraryPath(), `${dir}/${SQLCIPHER_LIB_NAME}`);
  }
  for (const [name, mode] of Object.entries(DEPLOY_FILES)) {
    await Deno.writeTextFile(`${dir}/${name}`, deployFile(name));
    await Deno.chmod(`${dir}/${name}`, mode);
  }
  for (const t of TARGETS) await Deno.chmod(`${dir}/${t.name}`, 0o755);
  // The sandbox's uid reads the library through a read-only bind.
  await Deno.chmod(`${dir}/${SQLCIPHER_LIB_NAME}`, 0o644);
}

/**
 * Builds the release into `options.out` (written in a staging directory
 * beside it, then renamed in: a failure leaves no half release).
 */
export async function buildRelease(options: ReleaseOptions): Promise<Release> {
  const version = options.version ?? config.version;
  if (!/^[0-9A-Za-z][0-9A-Za-z.+-]*$/.test(version)) {
    throw new Error(`not a version: ${JSON.stringify(version)}`);
  }
  const name = releaseName(version, releaseArch());
  await Deno.mkdir(options.out, { recursive: true });
  const staging = await Deno.makeTempDir({ dir: options.out, prefix: ".staging-" });
  try {
    await Deno.mkdir(`${staging}/${name}`, { mode: 0o755 });
    await Deno.chmod(`${staging}/${name}`, 0o755);
    await gatherBinaries(`${staging}/${name}`, options.binaries);
    const archive = `${name}.tar.gz`;
    // Reproducible: fixed order, owner and mtime (SOURCE_DATE_EPOCH when the workflow sets it); gzip -n.
    const epoch = Deno.env.get("SOURCE_DATE_EPOCH") ?? "0";
    const level = options.gzipLevel ?? 6;
    if (!Number.isInteger(level) || level < 1 || level > 9) {
      throw new Error(`gzip level ${level} is not 1 to 9`);
    }
    await run("sh", [
      "-c",
      `tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@${epoch} -cf - "$1" | gzip -n -${level} > "$2"`,
      "sh",
      name,
      archive,
    ], { cwd: staging });

    const sbom = `${name}.cdx.json`;
    await Deno.writeTextFile(
      `${staging}/${sbom}`,
      await releaseSbom({
        version,
        lock: await Deno.readTextFile(`${root}deno.lock`),
        denoVersion: Deno.version.deno,
        sqlcipherVersion: SQLCIPHER_VERSION,
        sqlcipherSource: `${root}node_modules/@commapp/sqlcipher-amalgamation/src/sqlite3.c`,
        opensslVersion: await opensslVersion(),
        timestamp: new Date(Number(epoch) > 0 ? Number(epoch) * 1000 : Date.now()),
      }),
    );

    await Deno.writeTextFile(`${staging}/install.sh`, deployFile("install.sh"));
    const sums = [archive, sbom, "install.sh"].map((file) =>
      `${sha256(Deno.readFileSync(`${staging}/${file}`))}  ${file}\n`
    );
    await Deno.writeTextFile(`${staging}/SHA256SUMS`, sums.join(""));
    for (const file of [archive, sbom, "install.sh", "SHA256SUMS"]) {
      await Deno.rename(`${staging}/${file}`, `${options.out}/${file}`);
    }
    return {
      archive: `${options.out}/${archive}`,
      sbom: `${options.out}/${sbom}`,
      sums: `${options.out}/SHA256SUMS`,
      installer: `${options.out}/install.sh`,
    };
  } finally {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
  }
}

const HELP = `Usage: deno task release [--binaries DIR] [--out DIR] [--version V]

Builds dist/release/: ironclaw_<version>_linux-<arch>.tar.gz (ironclaw, ironclaw-agent,
ironclaw-probe, libsqlcipher.so), its CycloneDX SBOM and SHA256SUMS.

  --binaries DIR  package ready-built binaries from DIR instead of compiling (deno compile needs denort)
  --out DIR       where to write (default dist/release)
  --version V     the version the names carry (default: deno.json's)
`;

if (import.meta.main) {
  try {
    const { values } = parseArgs({
      args: Deno.args,
      options: {
        binaries: { type: "string" },
        out: { type: "string" },
        version: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help) {
      console.log(HELP);
      Deno.exit(0);
    }
    const release = await buildRelease({
      out: values.out ?? `${root}dist/release`,
      binaries: values.binaries,
      version: values.version,
    });
    console.error(`release: wrote ${release.archive}, ${release.sbom} and ${release.sums}`);
  } catch (err) {
    console.error(`release: ${err instanceof Error ? err.message : err}`);
    Deno.exit(1);
  }
}
