import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { generateMasterKey } from "./master_key.ts";
import { deriveSubKey, KEY_PURPOSES } from "./sub_keys.ts";

Deno.test("a sub-key is HMAC-SHA256(master, purpose), stable across calls", async () => {
  const master = generateMasterKey();
  const expected = createHmac("sha256", master).update(KEY_PURPOSES.keySeal).digest();
  assert.deepEqual(await deriveSubKey(master, KEY_PURPOSES.keySeal), new Uint8Array(expected));
  assert.deepEqual(await deriveSubKey(master, KEY_PURPOSES.keySeal), new Uint8Array(expected));
});

Deno.test("sub-keys are domain-separated by purpose and by master", async () => {
  const master = generateMasterKey();
  const purposes = Object.values(KEY_PURPOSES);
  const keys = await Promise.all(purposes.map((p) => deriveSubKey(master, p)));
  assert.equal(new Set(keys.map((k) => k.toHex())).size, purposes.length);
  assert.ok(keys.every((k) => k.length === 32 && k.toHex() !== master.toHex()));
  const other = await deriveSubKey(generateMasterKey(), KEY_PURPOSES.keySeal);
  assert.notDeepEqual(other, keys[0]);
});
