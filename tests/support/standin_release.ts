/**
 * A whole release built here without `denort`: the three programs as
 * compiled stand-ins (`compiled_standin.ts`: Deno, the program's bundle and
 * its release flags in one executable), the built libsqlcipher, packaged by
 * the real `scripts/release.ts` into an archive, its SBOM and SHA256SUMS.
 * Unlike a real compiled `ironclaw`, the stand-in host is not
 * `Deno.build.standalone`, so it does not look for `ironclaw-agent` beside
 * itself: whoever serves with it names the agent (`$IRONCLAW_AGENT_PROGRAM`).
 *
 * @module
 */
import { resolveLibraryPath, SQLCIPHER_LIB_NAME } from "../../contract/sqlite/mod.ts";
import config from "../../deno.json" with { type: "json" };
import { buildRelease, type Release } from "../../scripts/release.ts";
import { TARGETS } from "../../scripts/compile.ts";
import { buildCompiledStandin } from "./compiled_standin.ts";

const root = new URL("../../", import.meta.url).pathname;
const bundles = new Map<string, Promise<string>>();

/** `entry` bundled once per test process, as the release compiles it (`deno bundle --minify`). */
function bundled(entry: string): Promise<string> {
  let bundle = bundles.get(entry);
  if (!bundle) {
    bundle = (async () => {
      const dir = Deno.makeTempDirSync({ prefix: "ironclaw-release-bundle-" });
      globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
      const out = `${dir}/program.js`;
      const result = await new Deno.Command(Deno.execPath(), {
        args: ["bundle", "--quiet", "--minify", "--platform=deno", "-o", out, `${root}${entry}`],
        stdout: "null",
        stderr: "piped",
      }).output();
      if (!result.success) throw new Error(`bundling ${entry}: ${new TextDecoder().decode(result.stderr)}`);
      return out;
    })();
    bundles.set(entry, bundle);
  }
  return bundle;
}

/**
 * Builds a stand-in release of `version` into `out`. Another version than
 * deno.json's is what building from a bumped deno.json gives: the host's
 * bundle carries it in place of the current one.
 */
export async function buildStandinRelease(out: string, options: { version?: string } = {}): Promise<Release> {
  const binaries = Deno.makeTempDirSync({ prefix: "ironclaw-release-binaries-" });
  try {
    for (const target of TARGETS) {
      let bundle = await bundled(target.entry);
      if (target.name === "ironclaw" && options.version && options.version !== config.version) {
        const text = Deno.readTextFileSync(bundle);
        const current = `version:"${config.version}"`;
        if (text.split(current).length !== 2) {
          throw new Error(`the host bundle holds ${current} not exactly once`);
        }
        bundle = `${binaries}/host.js`;
        Deno.writeTextFileSync(bundle, text.replace(current, `version:"${options.version}"`));
      }
      await buildCompiledStandin(binaries, { target, bundle });
    }
    Deno.copyFileSync(resolveLibraryPath(), `${binaries}/${SQLCIPHER_LIB_NAME}`);
    // Each stand-in carries a whole Deno: the fastest gzip keeps a test's two releases cheap.
    return await buildRelease({ out, binaries, version: options.version, gzipLevel: 1 });
  } finally {
    Deno.removeSync(binaries, { recursive: true });
  }
}
