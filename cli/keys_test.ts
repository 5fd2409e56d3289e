import assert from "node:assert/strict";
import { tempDir } from "../tests/support/mod.ts";
import { ControlPlane, DEMO_AGENT_ID } from "../src/control_plane/mod.ts";
import { MASTER_KEY_FILE, SEALED_KEYS_FILE } from "../src/keys/mod.ts";
import { PASSPHRASE_CREDENTIAL, passphraseSource, serveCustody } from "./key_custody.ts";
import { protectMasterKey, rotateMasterKey } from "./keys.ts";
import { captureIo } from "./output.ts";
import { runCli } from "./program.ts";

Deno.test("keys rotate re-wraps every key under a new master; the state still opens", async () => {
  using dir = tempDir();
  const plane = await ControlPlane.open({ stateDir: dir.path, dev: true });
  const before = plane.keys.fingerprint;
  await plane.close();
  const sealedBefore = Deno.readTextFileSync(`${dir.path}/${SEALED_KEYS_FILE}`);

  const io = captureIo();
  assert.equal(
    await runCli(["keys", "rotate", "--state-dir", dir.path, "--json"], io),
    0,
    io.stderr.join("\n"),
  );
  const report = JSON.parse(io.stdout.join("\n"));
  assert.equal(report.previousMaster, before);
  assert.notEqual(report.currentMaster, before);
  assert.equal(report.rewrapped, 3, "state-db, vault and audit-hmac");
  assert.notEqual(Deno.readTextFileSync(`${dir.path}/${SEALED_KEYS_FILE}`), sealedBefore);

  // The encrypted state database opens with the re-wrapped key: the registry is intact.
  const again = await ControlPlane.open({ stateDir: dir.path });
  try {
    assert.equal(again.keys.fingerprint, report.currentMaster);
    assert.ok(again.registry.hasAgentGroup(DEMO_AGENT_ID));
  } finally {
    await again.close();
  }
});

Deno.test("keys rotate refuses a state directory in use, and one with no master key", async () => {
  using dir = tempDir();
  const plane = await ControlPlane.open({ stateDir: dir.path });
  try {
    const fingerprint = plane.keys.fingerprint;
    const io = captureIo();
    assert.equal(await runCli(["keys", "rotate", "--state-dir", dir.path], io), 1);
    assert.equal(io.stderr.length, 1);
    assert.match(io.stderr[0], /is in use by a running control plane \(pid \d+\): stop it, then rotate$/);
    // Nothing changed on disk.
    const reopened = JSON.parse(Deno.readTextFileSync(`${dir.path}/${SEALED_KEYS_FILE}`));
    assert.equal(reopened.master, fingerprint);
  } finally {
    await plane.close();
  }
  using empty = tempDir();
  await assert.rejects(rotateMasterKey(empty.path), /holds no host-master\.key: nothing to rotate/);
  assert.deepEqual([...Deno.readDirSync(empty.path)], []);
});

Deno.test("keys protect puts a plain master under a passphrase; offline commands and the plane then need it", async () => {
  using dir = tempDir();
  const plane = await ControlPlane.open({ stateDir: dir.path, dev: true });
  const fingerprint = plane.keys.fingerprint;
  await plane.close();
  const plain = Deno.readFileSync(`${dir.path}/${MASTER_KEY_FILE}`);
  const passphraseFile = `${dir.path}/../${crypto.randomUUID()}.pass`;
  Deno.writeTextFileSync(passphraseFile, "correct horse battery\n", { mode: 0o600 });
  try {
    const report = await protectMasterKey(dir.path, { flags: { passphraseFile }, scryptLog2N: 14 });
    assert.deepEqual(report, { stateDir: dir.path, master: fingerprint, custody: "passphrase" });
    const wrapped = Deno.readFileSync(`${dir.path}/${MASTER_KEY_FILE}`);
    assert.ok(
      !wrapped.toHex().includes(plain.subarray(10).toHex()),
      "the key is no longer on disk in the clear",
    );

    const locked = captureIo();
    assert.equal(await runCli(["channel", "list", "--state-dir", dir.path], locked), 1);
    assert.match(
      locked.stderr[0],
      /is under a passphrase and no passphrase was given: pass --passphrase-file/,
    );
    const listed = captureIo();
    const withFile = ["--state-dir", dir.path, "--passphrase-file", passphraseFile];
    assert.equal(await runCli(["channel", "list", ...withFile], listed), 0, listed.stderr.join("\n"));
    const rotated = captureIo();
    assert.equal(await runCli(["keys", "rotate", ...withFile], rotated), 0, rotated.stderr.join("\n"));

    // serve's custody: the passphrase from the systemd credential, else the file; the plane opens its state.
    const credentials = Deno.makeTempDirSync();
    Deno.writeTextFileSync(`${credentials}/${PASSPHRASE_CREDENTIAL}`, "correct horse battery");
    const source = passphraseSource({}, {
      interactive: false,
      env: (name) => name === "CREDENTIALS_DIRECTORY" ? credentials : undefined,
    });
    assert.equal(await source?.("unlock"), "correct horse battery");
    Deno.removeSync(credentials, { recursive: true });
    assert.equal(passphraseSource({}, { interactive: false, env: () => undefined }), undefined);
    const again = await ControlPlane.open({
      stateDir: dir.path,
      keyCustody: serveCustody({ keyCustody: "passphrase", passphraseFile }, { interactive: false }),
    });
    try {
      assert.equal(again.keys.custody, "passphrase");
      assert.ok(again.registry.hasAgentGroup(DEMO_AGENT_ID));
    } finally {
      await again.close();
    }
  } finally {
    Deno.removeSync(passphraseFile);
  }
});

Deno.test("serve's custody: passphrase by default, file with --dev, an unknown mode refused", () => {
  assert.deepEqual(
    [serveCustody({}, { interactive: false }).mode, serveCustody({ dev: true }, { interactive: false }).mode],
    ["passphrase", "file"],
  );
  assert.throws(
    () => serveCustody({ keyCustody: "kms" }, { interactive: false }),
    /--key-custody kms: expected/,
  );
});
