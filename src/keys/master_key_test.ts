import assert from "node:assert/strict";
import { join } from "node:path";
import { tempDir } from "../../tests/support/mod.ts";
import { MasterKeyError } from "./errors.ts";
import {
  createMasterKeyFile,
  generateMasterKey,
  inspectMasterKeyFile,
  MASTER_KEY_FILE,
  readMasterKeyFile,
  replaceMasterKeyFile,
  scryptBytes,
} from "./master_key.ts";

const hex = (b: Uint8Array) => b.toHex();

async function refused(path: string, kind: MasterKeyError["kind"]): Promise<MasterKeyError> {
  const err = await readMasterKeyFile(path).then(() => undefined, (e) => e);
  assert.ok(err instanceof MasterKeyError, `expected a MasterKeyError, got ${err}`);
  assert.equal(err.kind, kind);
  return err;
}

Deno.test("a created master file is 42 bytes of magic and key, mode 0600, and reads back", async () => {
  using dir = tempDir();
  const path = join(dir.path, MASTER_KEY_FILE);
  const key = generateMasterKey();
  await createMasterKeyFile(path, key);
  const bytes = await Deno.readFile(path);
  assert.equal(bytes.length, 42);
  assert.equal(new TextDecoder().decode(bytes.subarray(0, 10)), "ICKMASTER1");
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  assert.deepEqual((await readMasterKeyFile(path)).key, key);
  assert.deepEqual([...Deno.readDirSync(dir.path)].map((e) => e.name), [MASTER_KEY_FILE]);
});

Deno.test("creating a master file never overwrites one", async () => {
  using dir = tempDir();
  const path = join(dir.path, MASTER_KEY_FILE);
  const key = generateMasterKey();
  await createMasterKeyFile(path, key);
  await assert.rejects(createMasterKeyFile(path, generateMasterKey()), Deno.errors.AlreadyExists);
  assert.deepEqual((await readMasterKeyFile(path)).key, key);
});

Deno.test("a master file open to group or other is refused with the chmod fix, without key bytes", async () => {
  using dir = tempDir();
  const path = join(dir.path, MASTER_KEY_FILE);
  const key = generateMasterKey();
  await createMasterKeyFile(path, key);
  for (const mode of [0o644, 0o640, 0o604, 0o660]) {
    await Deno.chmod(path, mode);
    const err = await refused(path, "permissions");
    assert.match(err.message, new RegExp(`${MASTER_KEY_FILE}.*chmod 600 `));
    assert.ok(!err.message.includes(hex(key)));
  }
  await Deno.chmod(path, 0o400);
  assert.deepEqual((await readMasterKeyFile(path)).key, key);
});

Deno.test("a master file of the wrong length or magic is refused", async () => {
  using dir = tempDir();
  const path = join(dir.path, MASTER_KEY_FILE);
  const good = new Uint8Array(42);
  good.set(new TextEncoder().encode("ICKMASTER1"));
  for (const bytes of [good.subarray(0, 41), new Uint8Array([...good, 0]), new Uint8Array()]) {
    await Deno.writeFile(path, bytes, { mode: 0o600 });
    await refused(path, "length");
  }
  const bad = good.slice();
  bad[9] = "2".charCodeAt(0);
  await Deno.writeFile(path, bad, { mode: 0o600 });
  await refused(path, "magic");
  await Deno.writeFile(path, good, { mode: 0o600 });
  assert.deepEqual((await readMasterKeyFile(path)).key, new Uint8Array(32));
});

Deno.test("a missing master file or a directory is refused", async () => {
  using dir = tempDir();
  await refused(join(dir.path, MASTER_KEY_FILE), "missing");
  await Deno.mkdir(join(dir.path, "d"), { mode: 0o700 });
  await refused(join(dir.path, "d"), "not_file");
});

Deno.test("scrypt is RFC 7914's (its test vector)", async () => {
  const out = await scryptBytes("password", new TextEncoder().encode("NaCl"), {
    log2N: 10,
    r: 8,
    p: 16,
    length: 64,
  });
  assert.equal(
    out.toHex(),
    "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640",
  );
});

Deno.test("under passphrase custody the key is not on disk, and only the passphrase opens it", async () => {
  using dir = tempDir();
  const path = join(dir.path, MASTER_KEY_FILE);
  const key = generateMasterKey();
  const lock = { mode: "passphrase", passphrase: "correct horse battery", scryptLog2N: 14 } as const;
  await createMasterKeyFile(path, key, lock);
  const bytes = await Deno.readFile(path);
  assert.equal(new TextDecoder().decode(bytes.subarray(0, 10)), "ICKMASTERP");
  assert.ok(!bytes.toHex().includes(key.toHex()), "the key bytes are not in the file");
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  assert.equal((await inspectMasterKeyFile(path)).custody, "passphrase");

  await refused(path, "locked");
  const wrong = await readMasterKeyFile(path, () => Promise.resolve("wrong horse battery")).catch((e) => e);
  assert.ok(wrong instanceof MasterKeyError && wrong.kind === "passphrase", String(wrong));
  const opened = await readMasterKeyFile(path, () => Promise.resolve("correct horse battery"));
  assert.deepEqual([opened.key, opened.custody], [key, "passphrase"]);

  // A flipped header byte (the salt) is caught by the AEAD, not silently a different key.
  const tampered = bytes.slice();
  tampered[20] ^= 1;
  await Deno.writeFile(path, tampered);
  const altered = await readMasterKeyFile(path, () => Promise.resolve("correct horse battery")).catch((e) =>
    e
  );
  assert.ok(altered instanceof MasterKeyError && altered.kind === "passphrase");

  // Back to file custody (same key), and a short passphrase is refused for a new wrapping.
  await replaceMasterKeyFile(path, key, { mode: "file" });
  assert.deepEqual((await readMasterKeyFile(path)).key, key);
  const weak = await replaceMasterKeyFile(path, key, { mode: "passphrase", passphrase: "short" }).catch((e) =>
    e
  );
  assert.ok(weak instanceof MasterKeyError && weak.kind === "weak_passphrase");
});
