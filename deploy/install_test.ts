/**
 * The installer against real releases served over HTTP: `deno task
 * release`'s own code packages two versions of compiled stand-ins
 * (`tests/support/standin_release.ts`), a loopback server serves them, and
 * `deploy/install.sh` installs, refuses a tampered archive with nothing
 * installed, upgrades keeping the state, rolls back through `ironclaw
 * rollback`, refuses binaries older than the state's schema, and uninstalls
 * keeping the state unless `--purge`.
 */
import assert from "node:assert/strict";
import config from "../deno.json" with { type: "json" };
import { SCHEMA_VERSION } from "../src/state/mod.ts";
import { releaseArch, releaseName } from "../scripts/release.ts";
import { canBuildCompiledStandin } from "../tests/support/compiled_standin.ts";
import { buildStandinRelease } from "../tests/support/standin_release.ts";

const INSTALLER = new URL("./install.sh", import.meta.url).pathname;
const NEXT = "0.99.0-test";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `cmd` (asynchronously: the release server answers in this same process). */
async function run(cmd: string, args: string[], env: Record<string, string>): Promise<Run> {
  const o = await new Deno.Command(cmd, {
    args,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  return {
    code: o.code,
    stdout: new TextDecoder().decode(o.stdout),
    stderr: new TextDecoder().decode(o.stderr),
  };
}

/** Serves `dir`'s files at `http://127.0.0.1:<port>/<path>` (404 for anything else). */
function serveDir(dir: string): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = decodeURIComponent(new URL(req.url).pathname);
    if (path.includes("..")) return new Response("no", { status: 400 });
    try {
      return new Response(await Deno.readFile(`${dir}${path}`));
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
}

Deno.test({
  name:
    "install.sh: checksum before unpacking, install, upgrade keeping state, rollback, schema guard, uninstall",
  ignore: !(await canBuildCompiledStandin()),
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "ironclaw-install-test-" });
    const server = serveDir(`${dir}/releases`);
    try {
      await buildStandinRelease(`${dir}/releases/current`);
      await buildStandinRelease(`${dir}/releases/next`, { version: NEXT });
      const archive = `${releaseName(config.version, releaseArch())}.tar.gz`;
      Deno.mkdirSync(`${dir}/releases/tampered`);
      for (const file of ["SHA256SUMS", archive]) {
        Deno.copyFileSync(`${dir}/releases/current/${file}`, `${dir}/releases/tampered/${file}`);
      }
      const bytes = Deno.readFileSync(`${dir}/releases/tampered/${archive}`);
      bytes[bytes.length >> 1] ^= 0xff;
      Deno.writeFileSync(`${dir}/releases/tampered/${archive}`, bytes);

      const base = `http://127.0.0.1:${server.addr.port}`;
      const prefix = `${dir}/lib/ironclaw`;
      const bin = `${dir}/bin`;
      const state = `${dir}/state`;
      const env = {
        PATH: `${bin}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`,
        HOME: `${dir}/home`,
        IRONCLAW_PREFIX: prefix,
        IRONCLAW_BINDIR: bin,
        IRONCLAW_STATE_DIR: state,
      };
      const install = (from: string, extra: Record<string, string> = {}) =>
        run("sh", [INSTALLER], { ...env, IRONCLAW_RELEASE_URL: `${base}/${from}`, ...extra });
      const ironclaw = (...args: string[]) => run(`${bin}/ironclaw`, args, env);

      const tampered = await install("tampered");
      assert.notEqual(tampered.code, 0);
      assert.match(
        tampered.stderr,
        new RegExp(`checksum mismatch for ${archive.replaceAll(".", "\\.")}.*nothing was installed`),
      );
      for (const path of [prefix, bin]) assert.throws(() => Deno.lstatSync(path), Deno.errors.NotFound, path);

      const first = await install("current");
      assert.equal(first.code, 0, first.stderr);
      assert.equal((await ironclaw("version")).stdout.trim(), `ironclaw ${config.version}`);
      assert.equal(Deno.readLinkSync(`${prefix}/current`), `releases/${config.version}`);
      assert.equal(Deno.statSync(`${prefix}/releases/${config.version}/ironclaw`).mode! & 0o777, 0o755);
      assert.equal(
        Deno.statSync(`${prefix}/releases/${config.version}/libsqlcipher.so`).mode! & 0o777,
        0o644,
      );

      // The state a running install has: an upgrade and a rollback leave it alone.
      Deno.mkdirSync(state);
      Deno.writeTextFileSync(`${state}/schema-version`, `${SCHEMA_VERSION}\n`);
      Deno.writeTextFileSync(`${state}/state.db`, "the state");
      const upgrade = await install("next", { IRONCLAW_VERSION: NEXT });
      assert.equal(upgrade.code, 0, upgrade.stderr);
      assert.match(upgrade.stderr, new RegExp(`kept ${config.version.replaceAll(".", "\\.")} for rollback`));
      assert.equal((await ironclaw("version")).stdout.trim(), `ironclaw ${NEXT}`);
      assert.equal(Deno.readLinkSync(`${prefix}/previous`), `releases/${config.version}`);
      assert.equal(Deno.readTextFileSync(`${state}/state.db`), "the state");

      const back = await ironclaw("rollback");
      assert.equal(back.code, 0, back.stderr);
      assert.match(
        back.stderr,
        new RegExp(`rolled back to IronClaw ${config.version.replaceAll(".", "\\.")}`),
      );
      assert.equal((await ironclaw("version")).stdout.trim(), `ironclaw ${config.version}`);
      assert.equal(Deno.readLinkSync(`${prefix}/previous`), `releases/${NEXT}`);
      assert.equal(Deno.readTextFileSync(`${state}/state.db`), "the state");

      // A state migrated by a newer build: neither the installer nor rollback puts older binaries on it.
      Deno.writeTextFileSync(`${state}/schema-version`, `${SCHEMA_VERSION + 1}\n`);
      const downgrade = await install("current");
      assert.notEqual(downgrade.code, 0);
      assert.match(downgrade.stderr, /schema version \d+, newer than .* knows .*nothing was changed/);
      const refusedBack = await ironclaw("rollback");
      assert.notEqual(refusedBack.code, 0);
      assert.match(refusedBack.stderr, /newer than/);
      assert.equal((await ironclaw("version")).stdout.trim(), `ironclaw ${config.version}`);
      Deno.writeTextFileSync(`${state}/schema-version`, `${SCHEMA_VERSION}\n`);

      const uninstall = await run("sh", [INSTALLER, "--uninstall"], env);
      assert.equal(uninstall.code, 0, uninstall.stderr);
      for (const path of [prefix, `${bin}/ironclaw`]) {
        assert.throws(() => Deno.lstatSync(path), Deno.errors.NotFound);
      }
      assert.equal(Deno.readTextFileSync(`${state}/state.db`), "the state");
      const purge = await run("sh", [INSTALLER, "--uninstall", "--purge"], env);
      assert.equal(purge.code, 0, purge.stderr);
      assert.throws(() => Deno.lstatSync(state), Deno.errors.NotFound);
    } finally {
      await server.shutdown();
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test("install.sh: POSIX sh syntax, and --help", async () => {
  assert.equal((await run("sh", ["-n", INSTALLER], {})).code, 0);
  const help = await run("sh", [INSTALLER, "--help"], { PATH: "/usr/bin:/bin" });
  assert.equal(help.code, 0);
  assert.match(help.stdout, /IRONCLAW_RELEASE_URL/);
  const bad = await run("sh", [INSTALLER, "--purge"], { PATH: "/usr/bin:/bin", HOME: "/nonexistent" });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--purge goes with --uninstall/);
});
