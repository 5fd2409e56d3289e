import assert from "node:assert/strict";
import { asSessionKey } from "../../contract/cipher.ts";
import { KeyStoreError } from "./errors.ts";
import { dataKeyId, sessionKeyId, STATE_DB_KEY_ID } from "./key_id.ts";
import { generateMasterKey } from "./master_key.ts";
import { SEALED_BYTES, Sealer } from "./sealer.ts";
import type { SessionId } from "../../contract/ids.ts";

const key = asSessionKey(crypto.getRandomValues(new Uint8Array(32)));
const id = sessionKeyId("ses_a" as SessionId);

Deno.test("sealing round-trips and the sealed bytes do not contain the key", async () => {
  const sealer = await Sealer.for(generateMasterKey());
  const blob = await sealer.seal(id, key);
  assert.equal(blob.length, SEALED_BYTES);
  assert.ok(!blob.toHex().includes(key.toHex()));
  assert.deepEqual(await sealer.unseal(id, blob), key);
  assert.notDeepEqual(await sealer.seal(id, key), blob, "a fresh nonce each time");
});

Deno.test("a sealed key does not open under another id, another master, or after any bit flip", async () => {
  const sealer = await Sealer.for(generateMasterKey());
  const blob = await sealer.seal(id, key);
  const corrupt = (p: Promise<unknown>) =>
    assert.rejects(p, (e) => e instanceof KeyStoreError && e.kind === "corrupt");
  await corrupt(sealer.unseal(sessionKeyId("ses_b" as SessionId), blob));
  await corrupt(sealer.unseal(STATE_DB_KEY_ID, blob));
  await corrupt((await Sealer.for(generateMasterKey())).unseal(id, blob));
  for (const at of [0, 11, 12, SEALED_BYTES - 1]) {
    const flipped = blob.slice();
    flipped[at] ^= 1;
    await corrupt(sealer.unseal(id, flipped));
  }
  await corrupt(sealer.unseal(id, blob.subarray(1)));
});

Deno.test("the fingerprint names the master: stable for one, different for another", async () => {
  const master = generateMasterKey();
  const a = await Sealer.for(master);
  assert.match(a.fingerprint, /^[0-9a-f]{16}$/);
  assert.equal((await Sealer.for(master)).fingerprint, a.fingerprint);
  assert.notEqual((await Sealer.for(generateMasterKey())).fingerprint, a.fingerprint);
});

Deno.test("session and host key ids cannot collide, and unsafe names are refused", () => {
  assert.notEqual(sessionKeyId("state-db" as SessionId), STATE_DB_KEY_ID);
  assert.throws(() => dataKeyId("session/x"), KeyStoreError);
  assert.throws(() => dataKeyId("../x"), KeyStoreError);
  assert.throws(() => sessionKeyId("a/b" as SessionId), KeyStoreError);
});
