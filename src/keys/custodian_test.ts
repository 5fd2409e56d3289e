import assert from "node:assert/strict";
import { join } from "node:path";
import type { SessionId } from "../../contract/ids.ts";
import { tempDir } from "../../tests/support/mod.ts";
import { KeyCustodian, NEXT_MASTER_KEY_FILE } from "./custodian.ts";
import { KeyStoreError, MasterKeyError } from "./errors.ts";
import { type KeyId, sessionKeyId, STATE_DB_KEY_ID } from "./key_id.ts";
import { createMasterKeyFile, generateMasterKey, MASTER_KEY_FILE, readMasterKeyFile } from "./master_key.ts";
import { SEALED_KEYS_FILE } from "./sealed_file.ts";
import { KEY_PURPOSES } from "./sub_keys.ts";

const A = sessionKeyId("ses_a" as SessionId);
const B = sessionKeyId("ses_b" as SessionId);

/** A state dir with a custodian holding keys A, B and state-db; returns their bytes. */
async function seeded(dir: string): Promise<{ custodian: KeyCustodian; keys: Map<KeyId, Uint8Array> }> {
  const custodian = await KeyCustodian.open(dir);
  const keys = new Map<KeyId, Uint8Array>();
  for (const id of [A, B, STATE_DB_KEY_ID]) keys.set(id, await custodian.getOrCreate(id));
  return { custodian, keys };
}

/** A custodian over a seeded state dir in which B's sealed blob was replaced by state-db's (moved onto another id). */
async function withMovedBlob(dir: string): Promise<KeyCustodian> {
  await seeded(dir);
  const path = join(dir, SEALED_KEYS_FILE);
  const file = JSON.parse(await Deno.readTextFile(path));
  file.keys[B] = file.keys[STATE_DB_KEY_ID];
  await Deno.writeTextFile(path, JSON.stringify(file));
  return await KeyCustodian.open(dir);
}

async function assertHolds(custodian: KeyCustodian, keys: Map<KeyId, Uint8Array>): Promise<void> {
  assert.deepEqual((await custodian.ids()).sort(), [...keys.keys()].sort());
  for (const [id, key] of keys) assert.deepEqual(await custodian.get(id), key);
}

const storeError = (kind: KeyStoreError["kind"]) => (e: unknown) =>
  e instanceof KeyStoreError && e.kind === kind;

function names(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

Deno.test("first open creates an owner-only master; keys are created once and survive a restart", async () => {
  using dir = tempDir();
  const { custodian, keys } = await seeded(dir.path);
  assert.equal((await Deno.stat(join(dir.path, MASTER_KEY_FILE))).mode! & 0o777, 0o600);
  assert.equal((await Deno.stat(join(dir.path, SEALED_KEYS_FILE))).mode! & 0o777, 0o600);
  assert.deepEqual(await custodian.getOrCreate(A), keys.get(A));
  assert.notDeepEqual(keys.get(A), keys.get(B));
  const reopened = await KeyCustodian.open(dir.path);
  assert.equal(reopened.fingerprint, custodian.fingerprint);
  await assertHolds(reopened, keys);
  assert.deepEqual(names(dir.path), [MASTER_KEY_FILE, SEALED_KEYS_FILE]);
});

Deno.test("get of an unknown id is undefined; delete forgets durably", async () => {
  using dir = tempDir();
  const { custodian, keys } = await seeded(dir.path);
  assert.equal(await custodian.get(sessionKeyId("ses_none" as SessionId)), undefined);
  assert.equal(await custodian.delete(A), true);
  assert.equal(await custodian.delete(A), false);
  assert.equal(await custodian.get(A), undefined);
  keys.delete(A);
  await assertHolds(await KeyCustodian.open(dir.path), keys);
});

Deno.test("concurrent getOrCreate of one id yields one key", async () => {
  using dir = tempDir();
  const custodian = await KeyCustodian.open(dir.path);
  const got = await Promise.all(Array.from({ length: 8 }, (_, i) => custodian.getOrCreate(i % 2 ? A : B)));
  assert.equal(new Set(got.map((k) => k.toHex())).size, 2);
  assert.equal((await KeyCustodian.open(dir.path).then((c) => c.ids())).length, 2);
});

/** Counts the replacements of the sealed file (each is one rename of its staged copy) while `fn` runs. */
async function countingSealedWrites<T>(fn: () => Promise<T>): Promise<{ result: T; writes: number }> {
  const rename = Deno.rename;
  let writes = 0;
  Deno.rename = (from, to) => {
    if (String(to).endsWith(SEALED_KEYS_FILE)) writes++;
    return rename(from, to);
  };
  try {
    return { result: await fn(), writes };
  } finally {
    Deno.rename = rename;
  }
}

Deno.test("a burst of new keys is sealed in one write; each id gets its own key, durably", async () => {
  using dir = tempDir();
  const custodian = await KeyCustodian.open(dir.path);
  const ids = Array.from({ length: 20 }, (_, i) => sessionKeyId(`ses_${i}` as SessionId));
  const { result: keys, writes } = await countingSealedWrites(() =>
    Promise.all([...ids, ...ids.slice(0, 5)].map((id) => custodian.getOrCreate(id)))
  );
  assert.equal(writes, 1);
  assert.equal(new Set(keys.slice(0, 20).map((k) => k.toHex())).size, 20);
  assert.deepEqual(keys.slice(20), keys.slice(0, 5), "a repeated id gets the same key");
  await assertHolds(await KeyCustodian.open(dir.path), new Map(ids.map((id, i) => [id, keys[i]])));

  // Calls arriving while a write is in flight form the next batch: still one more write, not one each.
  const later = Array.from({ length: 10 }, (_, i) => sessionKeyId(`ses_late_${i}` as SessionId));
  const { writes: more } = await countingSealedWrites(async () => {
    const first = custodian.getOrCreate(later[0]);
    await Promise.resolve();
    await Promise.all([first, ...later.slice(1).map((id) => custodian.getOrCreate(id))]);
  });
  assert.ok(more <= 2, `${more} writes for 10 keys`);
  assert.equal((await custodian.ids()).length, 30);
});

Deno.test("in a batch, an id whose sealed blob fails authentication fails alone", async () => {
  using dir = tempDir();
  const custodian = await withMovedBlob(dir.path);
  const fresh = sessionKeyId("ses_fresh" as SessionId);
  const [a, b, c] = await Promise.allSettled([A, B, fresh].map((id) => custodian.getOrCreate(id)));
  assert.equal(a.status, "fulfilled");
  assert.ok(b.status === "rejected" && storeError("corrupt")(b.reason));
  assert.equal(c.status, "fulfilled");
  assert.deepEqual(
    await (await KeyCustodian.open(dir.path)).get(fresh),
    (c as PromiseFulfilledResult<Uint8Array>).value,
  );
});

Deno.test("the sealed file holds no raw key in any encoding", async () => {
  using dir = tempDir();
  const { keys } = await seeded(dir.path);
  const text = await Deno.readTextFile(join(dir.path, SEALED_KEYS_FILE));
  const raw = new TextDecoder("latin1").decode(await Deno.readFile(join(dir.path, SEALED_KEYS_FILE)));
  for (const key of keys.values()) {
    assert.ok(!text.toLowerCase().includes(key.toHex()));
    assert.ok(!text.includes(key.toBase64()));
    assert.ok(!raw.includes(new TextDecoder("latin1").decode(key)));
  }
});

Deno.test("a different master is refused with a clear error, naming no key bytes", async () => {
  using dir = tempDir();
  const { keys } = await seeded(dir.path);
  const master = join(dir.path, MASTER_KEY_FILE);
  await Deno.remove(master);
  const other = generateMasterKey();
  await createMasterKeyFile(master, other);
  const err = await KeyCustodian.open(dir.path).then(() => undefined, (e) => e);
  assert.ok(storeError("wrong_master")(err), String(err));
  assert.match(
    err.message,
    /sealed-keys\.json was sealed by master [0-9a-f]{16}, but .*host-master\.key is master/,
  );
  for (const key of [other, ...keys.values()]) assert.ok(!err.message.includes(key.toHex()));
});

Deno.test("a loose master file stops the custodian from opening", async () => {
  using dir = tempDir();
  await seeded(dir.path);
  await Deno.chmod(join(dir.path, MASTER_KEY_FILE), 0o644);
  await assert.rejects(
    KeyCustodian.open(dir.path),
    (e) => e instanceof MasterKeyError && e.kind === "permissions",
  );
});

Deno.test("a missing master with sealed keys present is refused, not replaced", async () => {
  using dir = tempDir();
  await seeded(dir.path);
  await Deno.remove(join(dir.path, MASTER_KEY_FILE));
  await assert.rejects(KeyCustodian.open(dir.path), storeError("missing_master"));
  assert.deepEqual(names(dir.path), [SEALED_KEYS_FILE]);
});

Deno.test("a sealed blob moved onto another id fails authentication", async () => {
  using dir = tempDir();
  const custodian = await withMovedBlob(dir.path);
  await assert.rejects(custodian.get(B), storeError("corrupt"));
  await assert.rejects(custodian.rotate(), storeError("corrupt"));
  assert.ok(await custodian.get(A), "other keys still open");
});

Deno.test("a malformed sealed file is refused", async () => {
  using dir = tempDir();
  await seeded(dir.path);
  const path = join(dir.path, SEALED_KEYS_FILE);
  const file = JSON.parse(await Deno.readTextFile(path));
  for (
    const bad of [
      "{",
      JSON.stringify({ ...file, extra: 1 }),
      JSON.stringify({ ...file, keys: { "../x": file.keys[A] } }),
    ]
  ) {
    await Deno.writeTextFile(path, bad);
    await assert.rejects(KeyCustodian.open(dir.path), KeyStoreError);
  }
});

Deno.test("rotate re-wraps every key under a new master; the old master no longer opens", async () => {
  using dir = tempDir();
  const { custodian, keys } = await seeded(dir.path);
  const masterPath = join(dir.path, MASTER_KEY_FILE);
  const oldMaster = await Deno.readFile(masterPath);
  const oldSealed = await Deno.readTextFile(join(dir.path, SEALED_KEYS_FILE));
  const oldReport = await custodian.deriveSubKey(KEY_PURPOSES.reportHmac);
  const before = custodian.fingerprint;

  await custodian.rotate();
  assert.notEqual(custodian.fingerprint, before);
  assert.notDeepEqual(await Deno.readFile(masterPath), oldMaster);
  assert.equal((await Deno.stat(masterPath)).mode! & 0o777, 0o600);
  const newSealed = JSON.parse(await Deno.readTextFile(join(dir.path, SEALED_KEYS_FILE)));
  for (const [id, blob] of Object.entries(JSON.parse(oldSealed).keys)) {
    assert.notEqual(newSealed.keys[id], blob);
  }
  assert.notDeepEqual(await custodian.deriveSubKey(KEY_PURPOSES.reportHmac), oldReport);
  await assertHolds(custodian, keys);
  await assertHolds(await KeyCustodian.open(dir.path), keys);
  assert.deepEqual(names(dir.path), [MASTER_KEY_FILE, SEALED_KEYS_FILE]);

  await Deno.writeFile(masterPath, oldMaster);
  await assert.rejects(KeyCustodian.open(dir.path), storeError("wrong_master"));
});

Deno.test("rotation interrupted after writing the next master rolls back on open", async () => {
  using dir = tempDir();
  const { custodian, keys } = await seeded(dir.path);
  const next = join(dir.path, NEXT_MASTER_KEY_FILE);
  await createMasterKeyFile(next, generateMasterKey());
  const reopened = await KeyCustodian.open(dir.path);
  assert.equal(reopened.fingerprint, custodian.fingerprint);
  await assertHolds(reopened, keys);
  assert.deepEqual(names(dir.path), [MASTER_KEY_FILE, SEALED_KEYS_FILE]);
});

Deno.test("a torn next master (crash while writing it) rolls back on open", async () => {
  using dir = tempDir();
  const { custodian, keys } = await seeded(dir.path);
  await Deno.writeFile(join(dir.path, NEXT_MASTER_KEY_FILE), new TextEncoder().encode("ICKMAS"), {
    mode: 0o600,
  });
  const reopened = await KeyCustodian.open(dir.path);
  assert.equal(reopened.fingerprint, custodian.fingerprint);
  await assertHolds(reopened, keys);
  assert.deepEqual(names(dir.path), [MASTER_KEY_FILE, SEALED_KEYS_FILE]);
});

Deno.test("a next master with no sealed file yet rolls back to the current master", async () => {
  using dir = tempDir();
  const first = await KeyCustodian.open(dir.path);
  await createMasterKeyFile(join(dir.path, NEXT_MASTER_KEY_FILE), generateMasterKey());
  assert.equal((await KeyCustodian.open(dir.path)).fingerprint, first.fingerprint);
  assert.deepEqual(names(dir.path), [MASTER_KEY_FILE]);
});

Deno.test("rotation interrupted after re-wrapping the sealed file is finished on open", async () => {
  using dir = tempDir();
  using twin = tempDir();
  const { keys } = await seeded(dir.path);
  for (const name of [MASTER_KEY_FILE, SEALED_KEYS_FILE]) {
    await Deno.copyFile(join(dir.path, name), join(twin.path, name));
  }
  // The twin completes the same rotation; its results are exactly what steps 1 and 2 leave behind.
  const rotated = await KeyCustodian.open(twin.path);
  await rotated.rotate();
  await Deno.copyFile(join(twin.path, MASTER_KEY_FILE), join(dir.path, NEXT_MASTER_KEY_FILE));
  await Deno.copyFile(join(twin.path, SEALED_KEYS_FILE), join(dir.path, SEALED_KEYS_FILE));

  const reopened = await KeyCustodian.open(dir.path);
  assert.equal(reopened.fingerprint, rotated.fingerprint);
  await assertHolds(reopened, keys);
  assert.deepEqual(names(dir.path), [MASTER_KEY_FILE, SEALED_KEYS_FILE]);
  assert.deepEqual(
    (await readMasterKeyFile(join(dir.path, MASTER_KEY_FILE))).key,
    (await readMasterKeyFile(join(twin.path, MASTER_KEY_FILE))).key,
  );
});

Deno.test("a next master that did not seal the sealed file, with neither master matching, is refused", async () => {
  using dir = tempDir();
  await seeded(dir.path);
  const master = join(dir.path, MASTER_KEY_FILE);
  await Deno.rename(master, join(dir.path, "saved"));
  await createMasterKeyFile(master, generateMasterKey());
  await createMasterKeyFile(join(dir.path, NEXT_MASTER_KEY_FILE), generateMasterKey());
  await assert.rejects(KeyCustodian.open(dir.path), storeError("wrong_master"));
});

Deno.test("a rotation that fails re-wrapping leaves the old master current and no next file", async () => {
  using dir = tempDir();
  const { custodian, keys } = await seeded(dir.path);
  const before = custodian.fingerprint;
  // A non-empty directory where the sealed file is staged makes step 2 fail.
  const obstacle = join(dir.path, `${SEALED_KEYS_FILE}.tmp`);
  await Deno.mkdir(join(obstacle, "x"), { recursive: true });
  await assert.rejects(custodian.rotate());
  assert.equal(custodian.fingerprint, before);
  await assertHolds(custodian, keys);
  assert.ok(!names(dir.path).includes(NEXT_MASTER_KEY_FILE));
  await Deno.remove(obstacle, { recursive: true });
  await assertHolds(await KeyCustodian.open(dir.path), keys);
  await custodian.rotate();
  assert.notEqual(custodian.fingerprint, before);
  await assertHolds(await KeyCustodian.open(dir.path), keys);
});

Deno.test("passphrase custody: a copy of the state dir holds no usable key; rotation and reopening keep the custody", async () => {
  using dir = tempDir();
  const phrase = "correct horse battery";
  let asked = 0;
  const custody = {
    mode: "passphrase",
    passphrase: () => (asked++, Promise.resolve(phrase)),
    scryptLog2N: 14,
  } as const;
  const custodian = await KeyCustodian.open(dir.path, custody);
  assert.equal(custodian.custody, "passphrase");
  const key = await custodian.getOrCreate(A);
  const subKey = await custodian.deriveSubKey(KEY_PURPOSES.reportHmac);
  // Nothing in the directory is the master in the clear: it cannot be opened without the passphrase.
  const locked = await KeyCustodian.open(dir.path).catch((e) => e);
  assert.ok(locked instanceof MasterKeyError && locked.kind === "locked", String(locked));
  const wrong = await KeyCustodian.open(dir.path, { passphrase: () => Promise.resolve("nope nope nope") })
    .catch((e) => e);
  assert.ok(wrong instanceof MasterKeyError && wrong.kind === "passphrase", String(wrong));

  await custodian.rotate();
  const reopened = await KeyCustodian.open(dir.path, { passphrase: () => Promise.resolve(phrase) });
  assert.equal(reopened.custody, "passphrase");
  assert.deepEqual(await reopened.get(A), key);
  assert.notDeepEqual(
    await reopened.deriveSubKey(KEY_PURPOSES.reportHmac),
    subKey,
    "a new master after rotate",
  );
  assert.equal(asked, 1);
});

Deno.test("a plain master keeps working in file custody, is refused when a passphrase is required, and protect converts it", async () => {
  using dir = tempDir();
  const { custodian, keys } = await seeded(dir.path);
  assert.equal(custodian.custody, "file");
  const required = await KeyCustodian.open(dir.path, { mode: "passphrase", requirePassphrase: true }).catch((
    e,
  ) => e);
  assert.ok(required instanceof MasterKeyError && required.kind === "plain", String(required));
  assert.match(required.message, /ironclaw keys protect/);

  const before = await Deno.readFile(join(dir.path, MASTER_KEY_FILE));
  await custodian.protect("correct horse battery", { scryptLog2N: 14 });
  const after = await Deno.readFile(join(dir.path, MASTER_KEY_FILE));
  assert.ok(
    !after.toHex().includes(before.subarray(10).toHex()),
    "the plain key bytes are gone from the file",
  );
  const opened = await KeyCustodian.open(dir.path, {
    requirePassphrase: true,
    passphrase: () => Promise.resolve("correct horse battery"),
  });
  assert.equal(opened.custody, "passphrase");
  assert.equal(opened.fingerprint, custodian.fingerprint, "same master, every sealed key still opens");
  await assertHolds(opened, keys);
});
