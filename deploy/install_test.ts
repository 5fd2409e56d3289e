/**
 * The installer against real releases served over HTTP: `deno task
 * release`'s own code packages two versions of compiled stand-ins
 * (`tests/support/standin_release.ts`), a loopback server serves them, and
 * `deploy/install.sh` installs, refuses a tampered archive with nothing
 * installed, installs the unit that `systemd-analyze verify` accepts (as
 * root), serves and answers a chat under runsc as the unit's `ExecStart`
 * runs it (root, runsc), upgrades keeping the state, rolls back through
 * `ironclaw rollback`, refuses binaries older than the state's schema, and
 * uninstalls keeping the state unless `--purge`.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import config from "../deno.json" with { type: "json" };
import { SCHEMA_VERSION, STATE_DB_FILE } from "../src/state/mod.ts";
import { isolators } from "../isolator/mod.ts";
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

/** Whether the suite may run the installed binaries' serve under runsc here (root, runsc works). */
async function runscWorks(): Promise<boolean> {
  if (Deno.uid() !== 0) return false;
  const dir = Deno.makeTempDirSync({ prefix: "ironclaw-runsc-check-" });
  try {
    return (await isolators({ stateDir: dir }).runsc.check()).ok;
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/** The `[Service]` settings of a unit file: each key's values, in order. */
function unitSettings(path: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  for (const line of Deno.readTextFileSync(path).split("\n")) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (match) settings.set(match[1], [...(settings.get(match[1]) ?? []), match[2]]);
  }
  return settings;
}

function sha256(path: string): string {
  return createHash("sha256").update(Deno.readFileSync(path)).digest("hex");
}

/**
 * Runs the installed unit's `ExecStart` as systemd would, as far as this
 * machine can without systemd as PID 1: the unit's capability bounding set
 * and no_new_privs (setpriv), its credential in `$CREDENTIALS_DIRECTORY`,
 * its `EnvironmentFile`. Three things differ, named here: the state
 * directory and the API port (this test's), and `$IRONCLAW_AGENT_PROGRAM`
 * naming the installed `ironclaw-agent`, which a real compiled `ironclaw`
 * finds beside itself but the stand-in (not `Deno.build.standalone`) does
 * not. Returns the server and the environment the CLI needs to reach it.
 */
async function serveAsTheUnit(
  unitPath: string,
  options: { stateDir: string; credentials: string; env: Record<string, string>; agent: string },
): Promise<{ server: Deno.ChildProcess; log: () => string; env: Record<string, string> }> {
  const unit = unitSettings(unitPath);
  const port = 20000 + Math.floor(Math.random() * 20000);
  const [execStart] = unit.get("ExecStart")!;
  const argv = execStart.split(" ")
    .map((arg) =>
      arg === "/var/lib/ironclaw" ? options.stateDir : arg === "127.0.0.1:8787" ? `127.0.0.1:${port}` : arg
    );
  const caps = unit.get("CapabilityBoundingSet")![0].split(" ").map((c) =>
    `+${c.replace(/^CAP_/, "").toLowerCase()}`
  );
  assert.deepEqual(unit.get("NoNewPrivileges"), ["yes"]);
  const [credential, source] = unit.get("LoadCredential")![0].split(":");
  Deno.mkdirSync(options.credentials, { mode: 0o700 });
  Deno.copyFileSync(
    source.replace("/etc/ironclaw", options.env.IRONCLAW_CONFIG_DIR),
    `${options.credentials}/${credential}`,
  );
  const fromFile = Deno.readTextFileSync(`${options.env.IRONCLAW_CONFIG_DIR}/ironclaw.env`).split("\n")
    .filter((line) => /^[A-Z_]+=/.test(line)).map((line) => line.split("=", 2));
  const server = new Deno.Command("setpriv", {
    args: ["--no-new-privs", `--bounding-set=-all,${caps.join(",")}`, ...argv],
    env: {
      ...Object.fromEntries(fromFile),
      CREDENTIALS_DIRECTORY: options.credentials,
      IRONCLAW_AGENT_PROGRAM: options.agent,
      PATH: options.env.PATH,
    },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) lines.push(chunk);
  };
  collect(server.stdout);
  collect(server.stderr);
  for (let i = 0; i < 600 && !lines.join("").includes("listening on"); i++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.match(lines.join(""), /listening on/, lines.join(""));
  return {
    server,
    log: () => lines.join(""),
    env: {
      ...options.env,
      IRONCLAW_API_URL: `http://127.0.0.1:${port}`,
      IRONCLAW_STATE_DIR: options.stateDir,
    },
  };
}

Deno.test({
  name:
    "install.sh: checksum before unpacking, install, the unit serves a chat under runsc, upgrade keeping state, rollback, schema guard, uninstall",
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
        // As root the installer also writes these: here, into the test's directory.
        IRONCLAW_CONFIG_DIR: `${dir}/etc/ironclaw`,
        IRONCLAW_UNIT_DIR: `${dir}/etc/systemd/system`,
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

      if (Deno.uid() === 0) {
        // As root: the unit, with ExecStart naming this BINDIR, and /etc/ironclaw's files, 0600.
        const unit = `${env.IRONCLAW_UNIT_DIR}/ironclaw.service`;
        assert.deepEqual(unitSettings(unit).get("ExecStart"), [
          `${bin}/ironclaw serve --state-dir /var/lib/ironclaw --api-addr 127.0.0.1:8787`,
        ]);
        for (const file of ["master-passphrase", "ironclaw.env"]) {
          assert.equal(Deno.statSync(`${env.IRONCLAW_CONFIG_DIR}/${file}`).mode! & 0o777, 0o600, file);
        }
        assert.match(Deno.readTextFileSync(`${env.IRONCLAW_CONFIG_DIR}/master-passphrase`), /^[0-9a-f]{64}$/);
        const verify = await run("systemd-analyze", ["verify", unit], env);
        assert.equal(verify.code, 0, verify.stderr);
        assert.equal(verify.stderr.trim(), "", "systemd-analyze verify warns");
      }

      // The state a running install has: an upgrade and a rollback leave it alone.
      if (await runscWorks()) {
        // The installed binaries serve as the unit runs them, and answer a chat under runsc.
        const served = await serveAsTheUnit(`${env.IRONCLAW_UNIT_DIR}/ironclaw.service`, {
          stateDir: state,
          credentials: `${dir}/credentials`,
          env,
          agent: `${prefix}/current/ironclaw-agent`,
        });
        try {
          const cli = (...args: string[]) => run(`${bin}/ironclaw`, args, served.env);
          const created = await cli(
            "agent",
            "create",
            "--name",
            "helper",
            "--template",
            "blank",
            "--provider",
            "mock",
            "--json",
          );
          assert.equal(created.code, 0, created.stderr);
          const approved = await cli("change", "approve", JSON.parse(created.stdout).request.id);
          assert.equal(approved.code, 0, approved.stderr);
          const member = await cli("registry", "add-member", "--user", "web:console", "--agent", "helper");
          assert.equal(member.code, 0, member.stderr);
          const chat = await cli("chat", "helper", "--message", "hello from the unit");
          assert.equal(chat.code, 0, `${chat.stderr}\n${served.log()}`);
          assert.equal(chat.stdout.trim(), "mock-agent received: hello from the unit");
          assert.match(served.log(), /agents run in: isolator runsc/);
        } finally {
          served.server.kill("SIGTERM");
          await served.server.status;
        }
        assert.equal(Deno.readTextFileSync(`${state}/schema-version`), `${SCHEMA_VERSION}\n`);
      } else {
        Deno.mkdirSync(state);
        Deno.writeTextFileSync(`${state}/schema-version`, `${SCHEMA_VERSION}\n`);
        Deno.writeTextFileSync(`${state}/${STATE_DB_FILE}`, "the state");
      }
      const stateHash = sha256(`${state}/${STATE_DB_FILE}`);
      const upgrade = await install("next", { IRONCLAW_VERSION: NEXT });
      assert.equal(upgrade.code, 0, upgrade.stderr);
      assert.match(upgrade.stderr, new RegExp(`kept ${config.version.replaceAll(".", "\\.")} for rollback`));
      assert.equal((await ironclaw("version")).stdout.trim(), `ironclaw ${NEXT}`);
      assert.equal(Deno.readLinkSync(`${prefix}/previous`), `releases/${config.version}`);
      assert.equal(sha256(`${state}/${STATE_DB_FILE}`), stateHash);

      const back = await ironclaw("rollback");
      assert.equal(back.code, 0, back.stderr);
      assert.match(
        back.stderr,
        new RegExp(`rolled back to IronClaw ${config.version.replaceAll(".", "\\.")}`),
      );
      assert.equal((await ironclaw("version")).stdout.trim(), `ironclaw ${config.version}`);
      assert.equal(Deno.readLinkSync(`${prefix}/previous`), `releases/${NEXT}`);
      assert.equal(sha256(`${state}/${STATE_DB_FILE}`), stateHash);

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
      assert.equal(sha256(`${state}/${STATE_DB_FILE}`), stateHash);
      if (Deno.uid() === 0) {
        assert.throws(
          () => Deno.lstatSync(`${env.IRONCLAW_UNIT_DIR}/ironclaw.service`),
          Deno.errors.NotFound,
        );
        assert.ok(Deno.statSync(`${env.IRONCLAW_CONFIG_DIR}/master-passphrase`).isFile);
      }
      const purge = await run("sh", [INSTALLER, "--uninstall", "--purge"], env);
      assert.equal(purge.code, 0, purge.stderr);
      for (const path of [state, env.IRONCLAW_CONFIG_DIR]) {
        assert.throws(() => Deno.lstatSync(path), Deno.errors.NotFound, path);
      }
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
