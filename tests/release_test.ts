import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import config from "../deno.json" with { type: "json" };
import { buildRelease, RELEASE_FILES, releaseArch, releaseName } from "../scripts/release.ts";
import { lockedNpmPackages } from "../scripts/sbom.ts";

const root = new URL("../", import.meta.url).pathname;

function binariesIn(dir: string): void {
  for (const name of RELEASE_FILES) Deno.writeTextFileSync(`${dir}/${name}`, `the ${name} of this test\n`);
}

function command(cmd: string, args: string[], cwd: string): { ok: boolean; out: string } {
  const o = new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).outputSync();
  return { ok: o.success, out: new TextDecoder().decode(o.stdout) + new TextDecoder().decode(o.stderr) };
}

Deno.test("release: one archive of the four files, its SBOM and SHA256SUMS that sha256sum -c accepts", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "ironclaw-release-test-" });
  try {
    Deno.mkdirSync(`${dir}/bins`);
    binariesIn(`${dir}/bins`);
    const release = await buildRelease({ out: `${dir}/out`, binaries: `${dir}/bins` });
    const name = releaseName(config.version, releaseArch());
    assert.equal(release.archive, `${dir}/out/${name}.tar.gz`);
    assert.deepEqual([...Deno.readDirSync(`${dir}/out`)].map((e) => e.name).sort(), [
      "SHA256SUMS",
      "install.sh",
      `${name}.cdx.json`,
      `${name}.tar.gz`,
    ]);

    const check = command("sha256sum", ["-c", "SHA256SUMS"], `${dir}/out`);
    assert.ok(check.ok, check.out);
    assert.match(check.out, new RegExp(`${name}.tar.gz: OK`));

    const listing = command("tar", ["-tvzf", release.archive], dir);
    assert.ok(listing.ok, listing.out);
    const members = listing.out.trim().split("\n").map((line) => {
      const [mode, owner, , , , path] = line.split(/\s+/);
      return { mode, owner, path };
    });
    assert.deepEqual(members, [
      { mode: "drwxr-xr-x", owner: "0/0", path: `${name}/` },
      { mode: "-rwxr-xr-x", owner: "0/0", path: `${name}/install.sh` },
      { mode: "-rwxr-xr-x", owner: "0/0", path: `${name}/ironclaw` },
      { mode: "-rwxr-xr-x", owner: "0/0", path: `${name}/ironclaw-agent` },
      { mode: "-rwxr-xr-x", owner: "0/0", path: `${name}/ironclaw-probe` },
      { mode: "-rw-r--r--", owner: "0/0", path: `${name}/ironclaw.service` },
      { mode: "-rw-r--r--", owner: "0/0", path: `${name}/libsqlcipher.so` },
    ]);

    const sbom = JSON.parse(Deno.readTextFileSync(release.sbom));
    assert.equal(sbom.bomFormat, "CycloneDX");
    assert.equal(sbom.specVersion, "1.6");
    assert.equal(sbom.metadata.component.version, config.version);
    const purls = new Set(sbom.components.map((c: { purl: string }) => c.purl));
    const locked = lockedNpmPackages(Deno.readTextFileSync(`${root}deno.lock`));
    assert.ok(locked.length > 20);
    for (const pkg of locked) {
      assert.ok(
        purls.has(`pkg:npm/${pkg.name.replace(/^@/, "%40")}@${pkg.version}`),
        `${pkg.name}@${pkg.version}`,
      );
    }
    const zod = sbom.components.find((c: { name: string }) => c.name === "zod");
    assert.equal(zod.version, config.imports.zod.replace("npm:zod@", ""));
    assert.equal(zod.hashes[0].alg, "SHA-512");
    const sqlcipher = sbom.components.find((c: { name: string }) => c.name === "sqlcipher");
    const source = Deno.readFileSync(`${root}node_modules/@commapp/sqlcipher-amalgamation/src/sqlite3.c`);
    assert.equal(sqlcipher.version, "4.5.5");
    assert.equal(sqlcipher.hashes[0].content, createHash("sha256").update(source).digest("hex"));
    assert.ok(
      sbom.components.some((c: { name: string; version: string }) =>
        c.name === "deno" && c.version === Deno.version.deno
      ),
    );
    assert.ok(sbom.components.some((c: { name: string }) => c.name === "sqlite"));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("release: a missing binary stops it with its name, and nothing is written", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "ironclaw-release-test-" });
  try {
    Deno.mkdirSync(`${dir}/bins`);
    binariesIn(`${dir}/bins`);
    Deno.removeSync(`${dir}/bins/ironclaw-probe`);
    await assert.rejects(
      buildRelease({ out: `${dir}/out`, binaries: `${dir}/bins` }),
      /cannot take ironclaw-probe/,
    );
    assert.deepEqual([...Deno.readDirSync(`${dir}/out`)], []);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("release: the workflow's installer downloads from the repository it was released from", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "ironclaw-release-test-" });
  Deno.env.set("GITHUB_REPOSITORY", "acme/claw");
  try {
    Deno.mkdirSync(`${dir}/bins`);
    binariesIn(`${dir}/bins`);
    const release = await buildRelease({ out: `${dir}/out`, binaries: `${dir}/bins`, gzipLevel: 1 });
    assert.match(
      Deno.readTextFileSync(release.installer),
      /^IRONCLAW_REPO=\$\{IRONCLAW_REPO:-acme\/claw\}$/m,
    );
    const check = command("sha256sum", ["-c", "SHA256SUMS"], `${dir}/out`);
    assert.ok(check.ok, check.out);
  } finally {
    Deno.env.delete("GITHUB_REPOSITORY");
    Deno.removeSync(dir, { recursive: true });
  }
});
